"""The small API every notebook builder uses: collect cells, then write the notebook.

    from nbbuild import NotebookBuilder
    nb = NotebookBuilder("notebooks/NN_name.ipynb")
    md, code = nb.md, nb.code
    md("## A section")
    code("print(1)", checked=True)            # starts with # NBVAL_CHECK_OUTPUT
    code("...", solution=True, hint="...")    # an exercise solution (tag 'solution')
    if __name__ == "__main__":
        nb.write()

Builders write notebooks without outputs; ``scripts/run_notebooks.py --store NN`` adds them.
``tests/test_notebook_builders.py`` checks each stored notebook still matches its builder.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]
CHECK = "# NBVAL_CHECK_OUTPUT\n"


class NotebookBuilder:
    """Collects the cells of one notebook, given by its path in the repository."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.cells: list[nbformat.NotebookNode] = []

    def md(self, text: str) -> None:
        """A markdown cell (the text is dedented and stripped)."""
        self.cells.append(new_markdown_cell(dedent(text).strip()))

    def code(self, text: str, checked: bool = False, solution: bool = False, hint: str = "") -> None:
        """A code cell; ``checked`` marks its output for nbval, ``solution`` tags an exercise
        solution and ``hint`` is what the student copy shows in its place."""
        src = dedent(text).strip()
        if checked:
            src = CHECK + src
        meta: dict = {"tags": ["solution"]} if solution else {}
        if hint:
            meta["hint"] = hint
        self.cells.append(new_code_cell(src, metadata=meta))

    def notebook(self) -> nbformat.NotebookNode:
        return new_notebook(cells=self.cells, metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        })

    def write(self, target: Path | None = None) -> Path:
        """Write the notebook (outputs empty) to ``target`` or its path in the repository."""
        target = target or ROOT / self.path
        nbformat.write(self.notebook(), target)
        print(f"wrote {self.path} ({len(self.cells)} cells)")
        return target
