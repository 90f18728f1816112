"""Execute the curriculum's notebooks headless: the main job of the repository.

    python scripts/run_notebooks.py            # full mode, every notebook
    python scripts/run_notebooks.py --quick    # quick mode (TUTORIAL_QUICK=1)
    python scripts/run_notebooks.py 01 03      # only notebooks whose name starts so
    python scripts/run_notebooks.py --store    # also write the outputs back to notebooks/
    python scripts/run_notebooks.py template --store   # the template (notebooks/templates/)

Executed copies go to ``build/executed/``, HTML renders to ``build/html/``, and the wall
time of each notebook to ``build/timings.json``. Progress bars are switched off
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


def execute(path: Path, out_dir: Path, timeout: int) -> tuple[nbformat.NotebookNode, float]:
    """Run one notebook in a fresh kernel with notebooks/ as working directory."""
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            cell.metadata.pop("execution", None)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    t0 = time.perf_counter()
    client.execute()
    return nb, time.perf_counter() - t0


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
    args = parser.parse_args()
    if args.store and args.quick:
        parser.error("stored outputs must come from a full-mode run; drop --quick")

    os.environ["TUTORIAL_QUICK"] = "1" if args.quick else "0"
    os.environ["TUTORIAL_PROGRESS"] = "0"
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    out = Path(args.out)
    (out / "executed").mkdir(parents=True, exist_ok=True)
    (out / "html").mkdir(parents=True, exist_ok=True)
    timings_file = out / "timings.json"
    measured: dict[str, dict[str, float]] = {}
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
        print(f"  done in {seconds:.0f} s", flush=True)
        measured.setdefault(path.stem, {})[mode] = round(seconds, 1)
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
