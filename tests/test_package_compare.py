"""benchmarks/package_compare.py without the packages: it says how to install them and skips cleanly."""

from __future__ import annotations

import importlib.util

import pytest

from .benchmark_scripts import load_benchmark


@pytest.mark.parametrize(("package", "module", "hint"), [("nequip", "nequip", "pip install nequip==0.19.1"),
                                                         ("mace", "mace", "pip install mace-torch==0.3.16")])
def test_without_the_package_the_benchmark_explains_and_skips(capsys, tmp_path, package, module, hint):
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    out = tmp_path / "results.json"
    assert load_benchmark("package_compare").main(["--package", package, "--seconds", "1", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "SKIPPED" in printed and hint in printed
    assert not out.exists()  # a skipped run writes no results


def test_a_python_that_does_not_exist_is_a_clear_error(capsys, tmp_path):
    out = tmp_path / "results.json"
    missing = str(tmp_path / "no-such-venv" / "bin" / "python")
    with pytest.raises(SystemExit) as stop:
        load_benchmark("package_compare").main(["--package", "mace", "--reference-python", missing, "--out", str(out)])
    assert stop.value.code == 2
    printed = capsys.readouterr().err
    assert missing in printed and "mace-torch" in printed
    assert not out.exists()
