"""Write student copies of the notebooks: every cell tagged ``solution`` becomes a stub.

    python scripts/make_student_copies.py            # all notebooks -> build/student/
    python scripts/make_student_copies.py --out DIR

A solution cell's stub keeps the cell's tags and shows its hint: the cell metadata
``hint`` if the author gave one, else a pointer to the exercise above. Outputs are
cleared. Nothing else changes, which ``tests/test_student_copies.py`` checks.
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]


def stub_source(cell: nbformat.NotebookNode) -> str:
    """The text a student sees in place of a solution."""
    hint = cell.metadata.get("hint", "re-read the exercise above and the section it refers to")
    return f"# Your solution here.\n# Hint: {hint}\n"


def student_version(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with solution cells stubbed and all outputs cleared."""
    out = copy.deepcopy(nb)
    for cell in out.cells:
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if "solution" in cell.metadata.get("tags", []):
            cell.source = stub_source(cell)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=str(ROOT / "build" / "student"))
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        nb = student_version(nbformat.read(path, as_version=4))
        nbformat.validate(nb)
        nbformat.write(nb, out / path.name)
        n = sum("solution" in c.metadata.get("tags", []) for c in nb.cells)
        print(f"{path.name}: {n} solution cell(s) replaced")
    print(f"student copies in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
