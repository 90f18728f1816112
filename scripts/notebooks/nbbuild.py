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

Every notebook also carries reveal.js slide metadata (``metadata.slideshow.slide_type``),
derived from its cells by ``slide_types`` (see there), so that ``scripts/make_slides.py``
can render it as a deck; builders need not set it themselves.
"""

from __future__ import annotations

from pathlib import Path
from textwrap import dedent

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[2]
CHECK = "# NBVAL_CHECK_OUTPUT\n"


def slide_types(cells: list[nbformat.NotebookNode]) -> list[str]:
    """The reveal.js slide type of each cell, derived from the cells alone:

    - a markdown cell that opens with a ``#`` or ``##`` heading starts a new slide;
    - one that opens with a ``###`` heading, or plain text right after a code cell, starts
      a subslide (the next explanation-code-output step, one keypress down);
    - an exercise solution (tag ``solution``) is a fragment: shown on the next keypress;
    - everything else continues the current (sub)slide (``"-"``).
    """
    types = []
    for k, cell in enumerate(cells):
        first = cell.source.lstrip().split("\n", 1)[0] if cell.source.strip() else ""
        if cell.cell_type == "markdown" and (k == 0 or first.startswith(("# ", "## "))):
            types.append("slide")
        elif cell.cell_type == "markdown" and (
            first.startswith("### ") or (k > 0 and cells[k - 1].cell_type == "code")
        ):
            types.append("subslide")
        elif cell.cell_type == "code" and "solution" in cell.metadata.get("tags", []):
            types.append("fragment")
        else:
            types.append("-")
    return types


def add_slide_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Set ``metadata.slideshow.slide_type`` of every cell of ``nb`` (in place; sources
    and outputs untouched) to what ``slide_types`` derives; returns ``nb``."""
    for cell, slide_type in zip(nb.cells, slide_types(nb.cells)):
        cell.metadata["slideshow"] = {"slide_type": slide_type}
    return nb


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
        """The notebook: the collected cells, with slide metadata (``add_slide_metadata``)."""
        return add_slide_metadata(new_notebook(cells=self.cells, metadata={
            "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
            "language_info": {"name": "python"},
        }))

    def write(self, target: Path | None = None) -> Path:
        """Write the notebook (outputs empty) to ``target`` or its path in the repository."""
        target = target or ROOT / self.path
        nbformat.write(self.notebook(), target)
        print(f"wrote {self.path} ({len(self.cells)} cells)")
        return target
