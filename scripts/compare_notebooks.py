"""Compare every notebook with its version at a git commit: which cells' inputs and outputs changed.

    python scripts/compare_notebooks.py HEAD~1     # the notebooks now against HEAD~1
    python scripts/compare_notebooks.py v0.1.0 --strict   # exit 1 if any cell changed

For each notebook in ``notebooks/`` (and the template) it prints the number of cells, how many
cells' sources, authored metadata (tags, hints), outputs and execution counts differ from the
commit, and whether the cells read from its text source (``notebooks/src/``) equal the
notebook's inputs. Use it to show that a change meant to touch text or tooling left the
stored outputs alone (or that a re-store changed only what it should).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
from notebook_sync import ROOT, inputs, notebook_paths, read_text, text_path  # noqa: E402


def at_commit(path: Path, ref: str) -> nbformat.NotebookNode | None:
    """The notebook at ``path`` as committed in ``ref`` (None if it did not exist there)."""
    rel = path.relative_to(ROOT).as_posix()
    shown = subprocess.run(["git", "show", f"{ref}:{rel}"], cwd=ROOT, capture_output=True, text=True)
    return nbformat.reads(shown.stdout, as_version=4) if shown.returncode == 0 else None


def compare(path: Path, ref: str) -> dict[str, object]:
    """Counts of differing cells between the notebook now and at ``ref``."""
    now, then = nbformat.read(path, as_version=4), at_commit(path, ref)
    row: dict[str, object] = {"notebook": path.name, "cells": len(now.cells)}
    if then is None:
        return row | {"at_ref": "absent"}
    pairs = list(zip(now.cells, then.cells))
    row["cells_then"] = len(then.cells)
    row["sources"] = sum(a.cell_type != b.cell_type or a.source != b.source for a, b in pairs)
    row["metadata"] = sum(inputs(a)[2] != inputs(b)[2] for a, b in pairs)
    row["outputs"] = sum(a.get("outputs") != b.get("outputs") for a, b in pairs)
    row["counts"] = sum(a.get("execution_count") != b.get("execution_count") for a, b in pairs)
    text_nb = read_text(text_path(path))
    row["text_source_equal"] = len(text_nb.cells) == len(now.cells) and all(
        inputs(t) == inputs(n) for t, n in zip(text_nb.cells, now.cells))
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ref", help="git commit, branch or tag to compare with")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any cell or count differs")
    args = parser.parse_args(argv)
    if subprocess.run(["git", "rev-parse", "--verify", "-q", f"{args.ref}^{{commit}}"], cwd=ROOT,
                      capture_output=True).returncode != 0:
        parser.error(f"{args.ref!r} is not a commit of this repository (try HEAD, HEAD~1, a branch or a tag)")
    keys = ["notebook", "cells", "cells_then", "sources", "metadata", "outputs", "counts", "text_source_equal"]
    print("| " + " | ".join(keys) + " |")
    print("|" + " --- |" * len(keys))
    changed = False
    for path in notebook_paths():
        row = compare(path, args.ref)
        print("| " + " | ".join(str(row.get(k, "-")) for k in keys) + " |")
        changed |= row.get("at_ref") == "absent" or row["cells"] != row["cells_then"] or any(
            row[k] for k in ("sources", "metadata", "outputs", "counts")) or not row["text_source_equal"]
    return 1 if (args.strict and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
