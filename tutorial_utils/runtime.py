"""Runtime choices shared by every notebook: quick mode, device, seeds, Colab.

Quick mode is switched on by the environment variable ``TUTORIAL_QUICK=1``. It shrinks
data, epochs and MD steps so a notebook runs on 2 CPU cores in a few minutes (this is
what CI runs). Full mode (the default) is what a participant runs.
"""

from __future__ import annotations

import os
import random
import sys
from typing import TypeVar

import numpy as np
import torch

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"", "0", "false", "no", "off"}


def _env_flag(name: str) -> bool:
    """Read a boolean environment variable; raise a clear error on anything else."""
    raw = os.environ.get(name, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ValueError(
        f"environment variable {name}={os.environ[name]!r} is not understood; "
        "set it to 1 (on) or 0 (off)"
    )


def is_quick() -> bool:
    """True when ``TUTORIAL_QUICK`` is set to 1/true/yes/on (quick mode for CI)."""
    return _env_flag("TUTORIAL_QUICK")


def pick(full: T, quick: T) -> T:
    """Return ``quick`` in quick mode and ``full`` otherwise.

    Example: ``n_epochs = pick(full=200, quick=10)``.
    """
    return quick if is_quick() else full


def in_colab() -> bool:
    """True when running inside Google Colab (or when ``TUTORIAL_FORCE_COLAB=1``)."""
    if _env_flag("TUTORIAL_FORCE_COLAB"):
        return True
    return "google.colab" in sys.modules


def get_device(prefer: str | None = None) -> torch.device:
    """Choose the compute device: ``prefer`` if given, else CUDA, then Apple MPS, then CPU.

    ``TUTORIAL_DEVICE`` (e.g. ``cpu``) overrides the automatic choice, which is handy
    when a GPU is present but busy.
    """
    choice = prefer or os.environ.get("TUTORIAL_DEVICE")
    if choice:
        device = torch.device(choice)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise RuntimeError(
                f"device {choice!r} was requested but CUDA is not available; "
                "unset TUTORIAL_DEVICE or choose 'cpu'"
            )
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0, deterministic: bool = True) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA) so runs repeat.

    With ``deterministic=True`` torch is asked for deterministic algorithms where they
    exist (``warn_only``: a kernel without a deterministic version warns, never fails).
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)


def setup(seed: int = 0, default_dtype: torch.dtype = torch.float32) -> torch.device:
    """One call for a notebook's setup cell: seed, default dtype, device; print a summary.

    Returns the chosen ``torch.device``.
    """
    seed_everything(seed)
    torch.set_default_dtype(default_dtype)
    device = get_device()
    mode = "quick" if is_quick() else "full"
    name = f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else ""
    print(f"mode: {mode} | device: {device.type}{name} | seed: {seed} | torch {torch.__version__}")
    return device


def move_model(model: torch.nn.Module, device: torch.device | str | None = None) -> torch.device:
    """Move ``model`` (in place) to ``device`` when one is given; return the device it is on.

    The prediction helpers call this, so ``predict_*(model, data, device=device)`` computes
    where the notebook's ``setup()`` said, and ``device=None`` keeps the model where it is."""
    if device is not None:
        model.to(device)
    tensor: torch.Tensor | None = next(iter(model.parameters()), None)
    if tensor is None:
        tensor = next(iter(model.buffers()), None)
    return tensor.device if tensor is not None else torch.device(device or "cpu")


def move_data(data: T, device: torch.device | str) -> T:
    """``data`` (a tensor or a ``torch_geometric`` ``Data``) on ``device``, without moving the
    caller's object: a ``Data`` already there is returned as it is, any other is cloned first
    (``Data.to`` works in place)."""
    device = torch.device(device)
    if isinstance(data, torch.Tensor):
        return data.to(device)  # type: ignore[return-value]
    tensors = [v for v in data.to_dict().values() if isinstance(v, torch.Tensor)]  # type: ignore[attr-defined]
    if all(t.device == device for t in tensors):
        return data
    return data.clone().to(device)  # type: ignore[attr-defined]


def cpu_threads(device: torch.device | str, n: int) -> None:
    """Use ``n`` torch threads for CPU operations when ``device`` is the CPU (``torch.get_num_threads()``
    then reads ``n``).

    The graphs of these notebooks are small, and on a 2-core machine one thread avoids the
    cost of splitting small operations between threads. That is a CPU shortcut: on a GPU the
    count is left at torch's default, since the host threads then prepare the GPU's work.
    """
    if n < 1:
        raise ValueError(f"the number of threads must be at least 1, got {n}")
    if torch.device(device).type == "cpu":
        torch.set_num_threads(n)


HEADLINE_PREFIX = "headline |"


def headline(metric: str, value: float, unit: str = "") -> None:
    """Print a notebook's headline metric as one line, ``headline | metric: value unit``.

    ``scripts/gpu_check.py`` reads this line from each executed notebook, so every notebook
    prints exactly one. ``value`` is shown with 4 significant digits."""
    if not metric or "|" in metric or ":" in metric:
        raise ValueError(f"the metric name must be non-empty text without '|' or ':', got {metric!r}")
    print(f"{HEADLINE_PREFIX} {metric}: {float(value):.4g}" + (f" {unit}" if unit else ""))
