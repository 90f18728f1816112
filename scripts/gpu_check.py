"""Run every notebook in full mode on a CUDA GPU and record what the GPU changes (issue 21).

    python scripts/gpu_check.py            # every notebook, full mode, on the GPU
    python scripts/gpu_check.py 04 06      # only notebooks whose file name starts so

Needs a machine where ``torch.cuda.is_available()`` (Colab with a GPU runtime, a workstation);
without one it stops at once and says so (exit status 2). For each notebook it writes the wall
time (s), the device the setup cell reported (``setup()`` prints ``device: cuda (<name>)``), and
the notebook's headline metric (the one line ``tutorial_utils.headline`` prints) to
``build/gpu_timings.json``, and prints the table for the README. Executed copies go to
``build/gpu_executed/``; the stored notebooks are not touched. ``--allow-cpu`` runs the same
loop on the CPU, to test this script where there is no GPU; its results are not GPU numbers.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))
from run_notebooks import execute, notebook_paths, set_environment  # noqa: E402

from tutorial_utils.runtime import HEADLINE_PREFIX  # noqa: E402

OUT = ROOT / "build" / "gpu_timings.json"
SETUP_LINE = re.compile(r"mode: (?P<mode>\w+) \| device: (?P<device>[^|]+?) \| seed")
HEADLINE_LINE = re.compile(re.escape(HEADLINE_PREFIX) + r" (?P<metric>[^:]+): (?P<value>\S+)(?: (?P<unit>.+))?$")


def require_cuda() -> str:
    """The name of the CUDA device; without one, says why on stderr and exits with status 2."""
    import torch

    if not torch.cuda.is_available():
        built = torch.version.cuda or "no CUDA"
        print(
            f"gpu_check needs a CUDA GPU, and torch.cuda.is_available() is False here (torch {torch.__version__}, "
            f"built with {built}). Run it on a GPU machine (on Colab: Runtime -> Change runtime type -> a GPU); "
            "scripts/run_notebooks.py runs the notebooks on the CPU. (--allow-cpu tests this script on the CPU.)",
            file=sys.stderr)
        raise SystemExit(2)
    return torch.cuda.get_device_name(0)


def stream_text(nb: nbformat.NotebookNode) -> list[str]:
    """Every line the code cells of an executed notebook printed (stdout streams and text results)."""
    lines: list[str] = []
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            text = output.get("text", "") if output.get("output_type") == "stream" else \
                output.get("data", {}).get("text/plain", "")
            lines += "".join(text).splitlines()
    return lines


def read_report(nb: nbformat.NotebookNode) -> dict:
    """The device the setup cell reported and the headline metric of an executed notebook:
    ``{"mode", "device", "headline": {"metric", "value", "unit"}}``; a clear error when the
    notebook printed no setup line or not exactly one headline."""
    lines = stream_text(nb)
    setup = next((m for m in map(SETUP_LINE.search, lines) if m), None)
    if setup is None:
        raise ValueError("the notebook printed no setup line ('mode: ... | device: ... | seed ...'): "
                         "its first code cell must call tutorial_utils.setup()")
    headlines = [m for m in map(HEADLINE_LINE.match, lines) if m]
    if len(headlines) != 1:
        raise ValueError(f"the notebook printed {len(headlines)} headline lines; it must print exactly one "
                         "with tutorial_utils.headline(metric, value, unit)")
    h = headlines[0]
    return {"mode": setup["mode"], "device": setup["device"].strip(),
            "headline": {"metric": h["metric"], "value": float(h["value"]), "unit": h["unit"] or ""}}


def markdown_table(results: dict) -> str:
    """The README's table: notebook, device, wall time (min), headline metric."""
    rows = ["| notebook | device | full mode, wall time | headline metric |", "| --- | --- | --- | --- |"]
    for name, r in sorted(results["notebooks"].items()):
        h = r["headline"]
        value = f"{h['value']:.4g} {h['unit']}".strip()
        rows.append(f"| {name[:2]} | {r['device']} | {r['wall_s'] / 60:.1f} min | {h['metric']}: {value} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="only notebooks whose file name starts with these")
    parser.add_argument("--paths", nargs="+", type=Path, help="run these notebook files instead (tests)")
    parser.add_argument("--out", type=Path, default=OUT, help="results file (default build/gpu_timings.json)")
    parser.add_argument("--timeout", type=int, default=3600, help="per-cell timeout in seconds")
    parser.add_argument("--quick", action="store_true", help="quick mode instead of full mode (a smoke run)")
    parser.add_argument("--allow-cpu", action="store_true", help="run on the CPU when there is no GPU (tests)")
    args = parser.parse_args(argv)
    if args.allow_cpu:
        import torch

        gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "none (CPU, --allow-cpu)"
    else:
        gpu = require_cuda()
    set_environment(args.quick)
    executed = args.out.parent / "gpu_executed"
    executed.mkdir(parents=True, exist_ok=True)
    results: dict = {"gpu": gpu, "mode": "quick" if args.quick else "full", "notebooks": {}}
    failed = []
    for path in args.paths or notebook_paths(args.prefixes):
        print(f"running {path.name} ...", flush=True)
        try:
            nb, seconds = execute(path, executed, args.timeout)
            report = read_report(nb)
        except Exception as exc:  # report and go on with the other notebooks
            print(f"  FAILED: {type(exc).__name__}: {str(exc)[-1500:]}", flush=True)
            failed.append(path.name)
            continue
        nbformat.write(nb, executed / path.name)
        if not args.allow_cpu and not report["device"].startswith("cuda"):
            print(f"  WARNING: the notebook ran on {report['device']}, not on the GPU", flush=True)
        results["notebooks"][path.stem] = {"wall_s": round(seconds, 1), **report}
        print(f"  {seconds:.0f} s on {report['device']}; {report['headline']['metric']}: "
              f"{report['headline']['value']:.4g} {report['headline']['unit']}", flush=True)
    results["made_utc"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {args.out}\n\n{markdown_table(results)}")
    if failed:
        print(f"\nFAILED: {', '.join(failed)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
