"""scripts/gpu_check.py (issue 21): it refuses clearly without CUDA, reads the device and the
headline metric from an executed notebook, and (with --allow-cpu) runs its whole loop on a tiny
notebook here; every curriculum notebook prints exactly one headline line for it to read."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import nbformat
import pytest
import torch

from tutorial_utils.runtime import headline

from .notebook_files import ROOT

SCRIPT = ROOT / "scripts" / "gpu_check.py"
sys.path.insert(0, str(ROOT / "scripts"))
import gpu_check  # noqa: E402


def _executed(*texts: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    for text in texts:
        cell = nbformat.v4.new_code_cell("")
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
        nb.cells.append(cell)
    return nb


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU: the refusal cannot be tested")
def test_refuses_clearly_without_cuda(tmp_path):
    out = tmp_path / "t.json"
    run = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "needs a CUDA GPU" in run.stderr and "torch.cuda.is_available() is False" in run.stderr
    assert not out.exists()


def test_reads_device_and_headline(capsys):
    headline("test MSE", 0.025913, "")
    headline("force MAE", 35.1, "meV/Å")
    printed = capsys.readouterr().out
    assert printed == "headline | test MSE: 0.02591\nheadline | force MAE: 35.1 meV/Å\n"
    nb = _executed("mode: full | device: cuda (NVIDIA T4) | seed: 0 | torch 2.13.0\n", "other\n", printed)
    with pytest.raises(ValueError, match="2 headline lines"):
        gpu_check.read_report(nb)
    nb.cells[-1].outputs[0].text = "headline | force MAE (500 K): 35.1 meV/Å\n"
    report = gpu_check.read_report(nb)
    assert report == {"mode": "full", "device": "cuda (NVIDIA T4)",
                      "headline": {"metric": "force MAE (500 K)", "value": 35.1, "unit": "meV/Å"}}
    with pytest.raises(ValueError, match="no setup line"):
        gpu_check.read_report(_executed("headline | a: 1\n"))


def test_headline_rejects_a_name_the_parser_cannot_read():
    with pytest.raises(ValueError, match="without"):
        headline("a: b", 1.0)


def test_runs_the_loop_on_a_tiny_notebook_on_the_cpu(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("from tutorial_utils import headline, setup\ndevice = setup(seed=0)"),
                nbformat.v4.new_code_cell("headline('answer', 42.0, 'units')")]
    path = tmp_path / "99_tiny.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "gpu_timings.json"
    assert gpu_check.main(["--allow-cpu", "--quick", "--paths", str(path), "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    row = result["notebooks"]["99_tiny"]
    assert row["device"].startswith("cpu" if not torch.cuda.is_available() else "cuda")
    assert row["headline"] == {"metric": "answer", "value": 42.0, "unit": "units"} and row["wall_s"] > 0
    assert "| 99 |" in gpu_check.markdown_table(result)


@pytest.mark.parametrize("path", sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py")), ids=lambda p: p.stem)
def test_every_notebook_prints_one_headline(path):
    calls = [n for n in ast.walk(ast.parse(path.read_text()))
             if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "headline"]
    assert len(calls) == 1, f"{path.name}: {len(calls)} headline() calls; scripts/gpu_check.py needs exactly one"
