"""benchmarks/nequip_compare.py without nequip: it says how to install it and skips cleanly."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.skipif(importlib.util.find_spec("nequip") is not None, reason="nequip is installed here")
def test_without_nequip_the_benchmark_explains_and_skips(capsys, tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import nequip_compare
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    out = tmp_path / "results.json"
    assert nequip_compare.main(["--seconds", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SKIPPED" in printed and "pip install nequip==0.19.1" in printed
    assert not out.exists()  # a skipped run writes no results
