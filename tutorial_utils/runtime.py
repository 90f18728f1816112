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
    print(f"mode: {mode} | device: {device.type} | seed: {seed} | torch {torch.__version__}")
    return device
