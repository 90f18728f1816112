"""Quick-mode flag, device choice, seeding and Colab detection."""

import pytest
import torch

from tutorial_utils import runtime


def test_quick_flag(monkeypatch):
    monkeypatch.setenv("TUTORIAL_QUICK", "1")
    assert runtime.is_quick() and runtime.pick(full=100, quick=3) == 3
    monkeypatch.setenv("TUTORIAL_QUICK", "0")
    assert not runtime.is_quick() and runtime.pick(full=100, quick=3) == 100
    monkeypatch.delenv("TUTORIAL_QUICK")
    assert not runtime.is_quick()


def test_quick_flag_rejects_garbage(monkeypatch):
    monkeypatch.setenv("TUTORIAL_QUICK", "maybe")
    with pytest.raises(ValueError, match="TUTORIAL_QUICK='maybe'.*set it to 1"):
        runtime.is_quick()


def test_device_choice(monkeypatch):
    monkeypatch.delenv("TUTORIAL_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else None
    device = runtime.get_device()
    assert device.type in {"cuda", "mps", "cpu"}
    if expected:
        assert device.type == expected
    monkeypatch.setenv("TUTORIAL_DEVICE", "cpu")
    assert runtime.get_device().type == "cpu"


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_asking_for_missing_cuda_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        runtime.get_device("cuda")


def test_seeding_repeats_random_numbers():
    runtime.seed_everything(123)
    a = torch.randn(5)
    runtime.seed_everything(123)
    b = torch.randn(5)
    runtime.seed_everything(124)
    c = torch.randn(5)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_colab_detection(monkeypatch):
    monkeypatch.delenv("TUTORIAL_FORCE_COLAB", raising=False)
    assert runtime.in_colab() is False
    monkeypatch.setenv("TUTORIAL_FORCE_COLAB", "1")
    assert runtime.in_colab() is True


def test_setup_prints_mode_and_returns_device(monkeypatch, capsys):
    monkeypatch.setenv("TUTORIAL_QUICK", "1")
    monkeypatch.setenv("TUTORIAL_DEVICE", "cpu")
    old = torch.get_default_dtype()
    try:
        device = runtime.setup(seed=3)
    finally:
        torch.set_default_dtype(old)
    assert device.type == "cpu"
    assert "mode: quick | device: cpu | seed: 3" in capsys.readouterr().out


def test_package_exports_what_the_setup_cell_needs():
    import tutorial_utils

    for name in tutorial_utils.__all__:
        assert hasattr(tutorial_utils, name), f"tutorial_utils.{name} is listed in __all__ but missing"
    from tutorial_utils import setup  # the setup cell's import

    assert callable(setup)
