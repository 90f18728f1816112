"""The shared training loop: it learns, keeps the best epoch, stops early, repeats."""

import math

import pytest
import torch
from torch_geometric.data import Data
from torch_geometric.loader import DataLoader

from tutorial_utils.training import History, evaluate, train


def _loaders(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(64, 4, generator=g)
    w = torch.tensor([1.0, -2.0, 0.5, 3.0])
    data = [Data(x=x.view(1, 4), y=(x @ w).view(1)) for x in xs]
    train_loader = DataLoader(data[:48], batch_size=8, shuffle=True, generator=torch.Generator().manual_seed(1))
    valid_loader = DataLoader(data[48:], batch_size=16)
    return train_loader, valid_loader


def _loss(model, batch):
    pred = model(batch.x).view(-1)
    mse = ((pred - batch.y) ** 2).mean()
    return mse, {"mae": float((pred - batch.y).abs().mean().detach())}


def test_training_reduces_loss_and_restores_best(tmp_path):
    train_loader, valid_loader = _loaders()
    model = torch.nn.Linear(4, 1)
    first, _ = evaluate(model, valid_loader, _loss)
    ckpt = tmp_path / "best.pt"
    history = train(model, _loss, train_loader, valid_loader, epochs=40, lr=0.05, checkpoint=ckpt)
    assert isinstance(history, History) and history.epochs == 40
    assert history.best_valid_loss < 0.01 * first
    final, metrics = evaluate(model, valid_loader, _loss)
    assert math.isclose(final, history.best_valid_loss, rel_tol=1e-5)
    assert "mae" in metrics and len(history.valid_metrics["mae"]) == 40
    state = torch.load(ckpt, weights_only=True)
    assert torch.allclose(state["weight"], model.weight)
    assert "best epoch" in history.summary()


def test_training_is_deterministic_with_a_seed():
    runs = []
    for _ in range(2):
        train_loader, valid_loader = _loaders()
        torch.manual_seed(5)
        model = torch.nn.Linear(4, 1)
        runs.append(train(model, _loss, train_loader, valid_loader, epochs=5, seed=11).valid_loss)
    assert runs[0] == runs[1]


def test_early_stopping():
    train_loader, valid_loader = _loaders()
    model = torch.nn.Linear(4, 1)
    history = train(model, _loss, train_loader, valid_loader, epochs=500, lr=1e-9, patience=3,
                    schedule=None)
    assert history.stopped_early and history.epochs < 500


def test_nan_loss_and_bad_arguments_are_clear_errors():
    train_loader, valid_loader = _loaders()
    model = torch.nn.Linear(4, 1)
    with pytest.raises(FloatingPointError, match="lower the learning rate"):
        train(model, lambda m, b: (m(b.x).sum() * float("nan"), {}), train_loader, valid_loader, epochs=1)
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        train(model, _loss, train_loader, valid_loader, epochs=0)
    with pytest.raises(ValueError, match="unknown schedule"):
        train(model, _loss, train_loader, valid_loader, epochs=1, schedule="sometimes")
    with pytest.raises(ValueError, match="evaluation loader is empty"):
        evaluate(model, [], _loss)


def test_cosine_time_spans_the_budget_and_ends_near_zero():
    train_loader, valid_loader = _loaders()
    model = torch.nn.Linear(4, 1)
    history = train(model, _loss, train_loader, valid_loader, epochs=10_000, lr=1e-2, schedule="cosine_time",
                    max_seconds=0.5)
    assert not history.stopped_early and history.epochs < 10_000  # the budget, not the epoch cap, ended it
    assert history.lr[0] > 0.5e-2  # the first epoch runs near the full rate
    assert history.lr[-1] < 0.05e-2  # the last near zero: the schedule used the whole budget
    with pytest.raises(ValueError, match="give max_seconds"):
        train(model, _loss, train_loader, valid_loader, epochs=1, schedule="cosine_time")


def test_ema_keeps_the_averaged_weights():
    finals = {}
    for decay in (None, 0.9):
        train_loader, valid_loader = _loaders()
        torch.manual_seed(0)
        model = torch.nn.Linear(4, 1)
        start = model.weight.detach().clone()
        history = train(model, _loss, train_loader, valid_loader, epochs=3, lr=1e-2, schedule=None,
                        ema_decay=decay)
        assert history.steps == 3 * len(train_loader)
        finals[decay] = model.weight.detach().clone()
    # small steps move the weights steadily from the start; their running average lags behind
    lag = (finals[0.9] - start).norm() / (finals[None] - start).norm()
    assert 0.3 < float(lag) < 0.99
    with pytest.raises(ValueError, match="ema_decay"):
        train(model, _loss, train_loader, valid_loader, epochs=1, ema_decay=1.5)
