"""Execute the curriculum's notebooks headless: the main job of the repository.

    python scripts/run_notebooks.py            # full mode, every notebook
    python scripts/run_notebooks.py --quick    # quick mode (TUTORIAL_QUICK=1)
    python scripts/run_notebooks.py 01 03      # only notebooks whose name starts so
    python scripts/run_notebooks.py --store    # also write the outputs back to notebooks/
    python scripts/run_notebooks.py template --store   # the template (notebooks/templates/)

Executed copies go to ``build/executed/``, HTML renders to ``build/html/``, and the wall
time of each notebook, and of each of its code cells, to ``build/timings.json``:
``{"01_symmetry_intro": {"full": 61.3, "full_cells_s": [...], "full_longest_cell": {...}}}``
(seconds; ``*_cells_s`` has one entry per code cell, in order). A quick-mode run fails when a
cell takes longer than ``--max-cell-seconds`` (default 60): quick mode is what a workshop
participant on 2 cores waits for, cell by cell. Progress bars are switched off
(``TUTORIAL_PROGRESS=0``) so stored outputs hold no progress-bar noise. Only a run of
this script, in full mode, may produce the outputs stored in ``notebooks/``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


TEMPLATE = NOTEBOOKS / "templates" / "template.ipynb"


def notebook_paths(prefixes: list[str]) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``), optionally filtered by name prefix; the
    prefix ``template`` selects the template notebook."""
    paths = sorted(p for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        paths = [p for p in [*paths, TEMPLATE] if any(p.name.startswith(x) for x in prefixes)]
        if not paths:
            raise SystemExit(f"no notebook matches {prefixes}; have {[p.name for p in NOTEBOOKS.glob('*.ipynb')]}")
    return paths


def cell_seconds(nb: nbformat.NotebookNode) -> list[float]:
    """Wall time of each code cell (s), from nbclient's timing record, which is then removed
    (stored notebooks carry no run-specific metadata)."""
    seconds = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        record = cell.metadata.pop("execution", {})
        start, end = record.get("iopub.execute_input"), record.get("shell.execute_reply")
        if start and end:
            t0, t1 = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (start, end))
            seconds.append(round((t1 - t0).total_seconds(), 2))
        else:
            seconds.append(0.0)
    return seconds


def longest_cell(nb: nbformat.NotebookNode, seconds: list[float]) -> dict[str, object]:
    """The slowest code cell: its number among the code cells (1-based), time and first line."""
    code = [c for c in nb.cells if c.cell_type == "code"]
    k = max(range(len(seconds)), key=seconds.__getitem__) if seconds else 0
    lines = [ln for ln in (code[k].source.splitlines() if code else []) if ln.strip()]
    return {"code_cell": k + 1, "seconds": seconds[k] if seconds else 0.0, "first_line": lines[0][:80] if lines else ""}


def execute(path: Path, out_dir: Path, timeout: int) -> tuple[nbformat.NotebookNode, float]:
    """Run one notebook in a fresh kernel with notebooks/ as working directory."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=True,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    t0 = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - t0


def set_environment(quick: bool) -> None:
    """The environment every scripted run needs: quick or full mode, no progress bars (stored
    outputs hold no progress-bar noise), no debugger file-validation warnings."""
    os.environ["TUTORIAL_QUICK"] = "1" if quick else "0"
    os.environ["TUTORIAL_PROGRESS"] = "0"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")


def load_make_slides():
    """scripts/make_slides.py as a module: the offline HTML page and its assets live there,
    beside the decks that share them."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import make_slides

    return make_slides


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="run only notebooks whose file name starts with these")
    parser.add_argument("--quick", action="store_true", help="quick mode (TUTORIAL_QUICK=1)")
    parser.add_argument("--store", action="store_true", help="write executed outputs back into notebooks/")
    parser.add_argument("--out", default=str(ROOT / "build"), help="build folder (default: build/)")
    parser.add_argument("--timeout", type=int, default=3600, help="per-cell timeout in seconds")
    parser.add_argument("--max-cell-seconds", type=float, default=60.0,
                        help="quick mode: fail when a code cell takes longer (default 60 s)")
    args = parser.parse_args()
    if args.store and args.quick:
        parser.error("stored outputs must come from a full-mode run; drop --quick")

    set_environment(args.quick)
    out = Path(args.out)
    (out / "executed").mkdir(parents=True, exist_ok=True)
    (out / "html").mkdir(parents=True, exist_ok=True)
    timings_file = out / "timings.json"
    measured: dict[str, dict[str, object]] = {}
    make_slides = load_make_slides()
    try:  # MathJax for the offline HTML pages (the decks' npm packages)
        make_slides.install_assets(out / "html" / "assets")
    except (FileNotFoundError, subprocess.CalledProcessError) as exc:
        print(f"WARNING: no local MathJax for build/html ({exc}); equations there need a network", flush=True)
    failed = []
    for path in notebook_paths(args.prefixes):
        mode = "quick" if args.quick else "full"
        print(f"running {path.name} ({mode} mode) ...", flush=True)
        try:
            nb, seconds = execute(path, out, args.timeout)
        except Exception as exc:  # report and go on with the other notebooks
            print(f"  FAILED: {type(exc).__name__}: {str(exc)[-2000:]}", flush=True)
            failed.append(path.name)
            continue
        per_cell = cell_seconds(nb)
        slowest = longest_cell(nb, per_cell)
        print(f"  done in {seconds:.0f} s; longest cell: code cell {slowest['code_cell']},"
              f" {slowest['seconds']:.1f} s ({slowest['first_line']})", flush=True)
        measured.setdefault(path.stem, {}).update(
            {mode: round(seconds, 1), f"{mode}_cells_s": per_cell, f"{mode}_longest_cell": slowest})
        if args.quick and float(slowest["seconds"]) > args.max_cell_seconds:  # type: ignore[arg-type]
            print(f"  FAILED: a quick-mode cell took {slowest['seconds']:.0f} s, over {args.max_cell_seconds:.0f} s",
                  flush=True)
            failed.append(path.name)
        executed = out / "executed" / path.name
        nbformat.write(nb, executed)
        html = make_slides.html_page(nb, path.stem)
        (out / "html" / f"{path.stem}.html").write_text(html, encoding="utf-8")
        if args.store:
            shutil.copyfile(executed, path)
    # merge into the file as it is now (another run may have written it meanwhile)
    timings = json.loads(timings_file.read_text()) if timings_file.exists() else {}
    for stem, by_mode in measured.items():
        timings.setdefault(stem, {}).update(by_mode)
    timings_file.write_text(json.dumps(timings, indent=2, sort_keys=True) + "\n")
    print(f"executed copies: {out / 'executed'}; HTML: {out / 'html'}; timings: {timings_file}")
    if failed:
        print(f"FAILED: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
