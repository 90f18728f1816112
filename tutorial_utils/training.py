"""One training loop for every notebook.

``train`` runs epochs over a ``torch_geometric`` ``DataLoader`` (or any iterable of
batches), evaluates on a validation loader, keeps the best weights (lowest validation
loss), stops early, follows a learning-rate schedule (per epoch, or over a wall-clock
budget so a faster machine trains more steps), can average the weights (an exponential
moving average), clips gradients, and returns a :class:`History` that
:func:`tutorial_utils.plotting.plot_history` draws.

The model-specific part is ``loss_fn(model, batch) -> (loss, metrics)``: ``loss`` is a
scalar tensor to minimise, ``metrics`` a dict of floats averaged over batches (weighted
by ``batch.num_graphs`` when present).
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .runtime import seed_everything

# (model, batch) -> (loss, metrics); the model argument is whatever model train() is given
LossFn = Callable[[Any, Any], tuple[torch.Tensor, dict[str, float]]]

__all__ = ["History", "count_parameters", "evaluate", "progress_enabled", "train"]


@dataclass
class History:
    """Per-epoch record of a training run (lists have one entry per epoch)."""

    train_loss: list[float] = field(default_factory=list)
    valid_loss: list[float] = field(default_factory=list)
    train_metrics: dict[str, list[float]] = field(default_factory=dict)
    valid_metrics: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_early: bool = False
    steps: int = 0  # optimiser steps taken
    device: str = ""  # where it trained ("cpu", "cuda:0", ...)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    @property
    def best_valid_loss(self) -> float:
        return self.valid_loss[self.best_epoch] if self.best_epoch >= 0 else math.nan

    @property
    def total_seconds(self) -> float:
        return float(sum(self.seconds))

    def summary(self) -> str:
        """One line: epochs run, best epoch, best validation loss, wall time."""
        return (
            f"{self.epochs} epochs ({'stopped early' if self.stopped_early else 'completed'}), "
            f"best epoch {self.best_epoch + 1} with validation loss {self.best_valid_loss:.4g}, "
            f"{self.steps} steps, {self.total_seconds:.1f} s" + (f" on {self.device}" if self.device else "")
        )


def count_parameters(model: torch.nn.Module) -> int:
    """The number of trainable parameters (those with ``requires_grad``) of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def progress_enabled() -> bool:
    """Progress bars are on unless ``TUTORIAL_PROGRESS=0`` (scripted runs turn them off so
    stored notebook outputs hold no progress-bar noise)."""
    return os.environ.get("TUTORIAL_PROGRESS", "1").strip() not in {"0", "false", "no", "off"}


def _move(batch: Any, device: torch.device) -> Any:
    return batch.to(device) if hasattr(batch, "to") else batch


class _BatchMean:
    """Running mean of a loss and metrics over batches, weighted by graphs per batch."""

    def __init__(self) -> None:
        self.total, self.weight = 0.0, 0.0
        self.sums: dict[str, float] = {}

    def add(self, batch: Any, loss: torch.Tensor, metrics: dict[str, float]) -> None:
        w = float(getattr(batch, "num_graphs", 1))
        self.total += float(loss.detach()) * w
        self.weight += w
        for k, v in metrics.items():
            self.sums[k] = self.sums.get(k, 0.0) + float(v) * w

    def result(self, what: str) -> tuple[float, dict[str, float]]:
        if self.weight == 0:
            raise ValueError(f"the {what} loader is empty; give it at least one batch")
        return self.total / self.weight, {k: v / self.weight for k, v in self.sums.items()}


def evaluate(model: torch.nn.Module, loader: Iterable, loss_fn: LossFn, device: torch.device | str = "cpu",
             grad: bool = False) -> tuple[float, dict[str, float]]:
    """Average loss and metrics of ``model`` over ``loader`` (weighted by graphs per batch).

    Set ``grad=True`` when the loss needs autograd (e.g. forces as -dE/dx).
    """
    device = torch.device(device)
    model.eval()
    mean = _BatchMean()
    with torch.set_grad_enabled(grad):
        for batch in loader:
            batch = _move(batch, device)
            loss, metrics = loss_fn(model, batch)
            mean.add(batch, loss, metrics)
    return mean.result("evaluation")


def train(
    model: torch.nn.Module,
    loss_fn: LossFn,
    train_loader: Iterable,
    valid_loader: Iterable,
    epochs: int,
    lr: float = 1e-3,
    weight_decay: float = 0.0,
    optimizer: torch.optim.Optimizer | None = None,
    schedule: str | None = "plateau",
    patience: int | None = None,
    grad_clip: float | None = 10.0,
    device: torch.device | str = "cpu",
    seed: int | None = 0,
    checkpoint: str | Path | None = None,
    eval_grad: bool = False,
    log_every: int = 0,
    max_seconds: float | None = None,
    ema_decay: float | None = None,
) -> History:
    """Train ``model`` and leave it holding the weights of its best validation epoch.

    Args:
        model: the network; moved to ``device``.
        loss_fn: ``(model, batch) -> (loss, metrics)``.
        train_loader, valid_loader: iterables of batches (shuffle the training one).
        epochs: maximum number of passes over ``train_loader``.
        lr, weight_decay: AdamW settings (ignored when ``optimizer`` is given).
        schedule: ``"plateau"`` (halve LR after 5 flat epochs), ``"cosine"`` (over ``epochs``),
            ``"cosine_time"`` (a cosine over the wall-clock budget ``max_seconds``, set at every
            step from the time spent: the run ends at LR 0 when the budget is used, whatever the
            machine's speed) or ``None``.
        patience: stop after this many epochs without a better validation loss.
        grad_clip: clip the global gradient norm to this value (``None`` for no clipping).
        seed: seed set before training so runs repeat (``None`` leaves the RNG alone).
        checkpoint: if given, the best ``state_dict`` is saved there (load it with
            ``torch.load(path, weights_only=True)``).
        eval_grad: validation needs autograd (force losses).
        log_every: print a line every this many epochs (0: only at the end).
        max_seconds: stop after this much wall time (required by ``"cosine_time"``).
        ema_decay: if given (e.g. 0.99), validate and keep an exponential moving average of the
            weights, w_avg <- decay * w_avg + (1 - decay) * w after every step
            (``torch.optim.swa_utils``); the model ends holding the best averaged weights.
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if seed is not None:
        seed_everything(seed)
    device = torch.device(device)
    model.to(device)
    opt = optimizer or torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    sched: torch.optim.lr_scheduler.LRScheduler | torch.optim.lr_scheduler.ReduceLROnPlateau | None
    if schedule == "plateau":
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=5)
    elif schedule == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    elif schedule is None or schedule == "cosine_time":
        sched = None
    else:
        raise ValueError(f"unknown schedule {schedule!r}; use 'plateau', 'cosine', 'cosine_time' or None")
    if schedule == "cosine_time" and not (max_seconds and max_seconds > 0):
        raise ValueError("schedule='cosine_time' spans the wall-clock budget: give max_seconds > 0")
    if ema_decay is not None and not 0.0 < ema_decay < 1.0:
        raise ValueError(f"ema_decay must lie between 0 and 1 (e.g. 0.99), got {ema_decay}")
    averaged = None
    if ema_decay is not None:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True)
    base_lrs = [g["lr"] for g in opt.param_groups]

    history = History(device=str(device))
    best_state = copy.deepcopy(model.state_dict())
    best_loss = math.inf
    bad_epochs = 0
    start = time.perf_counter()
    bar = tqdm(range(epochs), desc="training", disable=not progress_enabled(), leave=False)
    for epoch in bar:
        t0 = time.perf_counter()
        model.train()
        mean = _BatchMean()
        for batch in train_loader:
            if schedule == "cosine_time":
                assert max_seconds is not None
                done = min(1.0, (time.perf_counter() - start) / max_seconds)
                for g, base in zip(opt.param_groups, base_lrs):
                    g["lr"] = 0.5 * base * (1.0 + math.cos(math.pi * done))
            batch = _move(batch, device)
            opt.zero_grad(set_to_none=True)
            loss, metrics = loss_fn(model, batch)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the training loss became {float(loss.detach())} at epoch {epoch + 1}; "
                    "lower the learning rate or check the data for NaNs"
                )
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            opt.step()
            history.steps += 1
            if averaged is not None:
                averaged.update_parameters(model)
            mean.add(batch, loss, metrics)
        train_loss, train_metrics = mean.result("training")
        judged = averaged.module if averaged is not None else model
        valid_loss, valid_metrics = evaluate(judged, valid_loader, loss_fn, device, grad=eval_grad)

        history.train_loss.append(train_loss)
        history.valid_loss.append(valid_loss)
        for k, v in train_metrics.items():
            history.train_metrics.setdefault(k, []).append(v)
        for k, v in valid_metrics.items():
            history.valid_metrics.setdefault(k, []).append(v)
        history.lr.append(opt.param_groups[0]["lr"])
        history.seconds.append(time.perf_counter() - t0)

        if valid_loss < best_loss:
            best_loss, bad_epochs = valid_loss, 0
            history.best_epoch = epoch
            best_state = copy.deepcopy(judged.state_dict())
            if checkpoint is not None:
                torch.save(best_state, checkpoint)
        else:
            bad_epochs += 1
        if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(valid_loss)
        elif sched is not None:
            sched.step()
        bar.set_postfix(train=f"{history.train_loss[-1]:.3g}", valid=f"{valid_loss:.3g}")
        if log_every and (epoch + 1) % log_every == 0:
            print(f"epoch {epoch + 1:4d}  train {history.train_loss[-1]:.4g}  valid {valid_loss:.4g}")
        if patience is not None and bad_epochs >= patience:
            history.stopped_early = True
            break
        if max_seconds is not None and time.perf_counter() - start > max_seconds:
            history.stopped_early = schedule != "cosine_time"  # there the budget is the planned end
            break
    bar.close()
    model.load_state_dict(best_state)
    return history
