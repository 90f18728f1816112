"""Shared test settings: float64 by default where a test asks for it, quiet progress bars."""

import os

import pytest
import torch

os.environ.setdefault("TUTORIAL_PROGRESS", "0")


@pytest.fixture
def float64():
    """Run a test with float64 as torch's default dtype, then restore it."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)
