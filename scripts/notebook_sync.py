"""Keep every notebook in step with its text source (jupytext pairing, see notebooks/STYLE.md).

    python scripts/notebook_sync.py                 # text sources -> notebooks: inputs updated,
                                                    # stored outputs kept, slide types derived
    python scripts/notebook_sync.py --check         # exit 1 and list what differs; writes nothing
    python scripts/notebook_sync.py --from-notebooks 03   # notebook -> text source (after an
                                                    # edit in a Jupyter without jupytext)
    python scripts/notebook_sync.py --new 07_tensor_properties "07. Tensor properties of crystals"

Each notebook ``<folder>/<name>.ipynb`` is paired with ``<folder>/src/<name>.py`` in
jupytext's percent format (``notebooks/src/NN_name.py``, ``notebooks/templates/src/template.py``);
``notebooks/jupytext.toml`` says so, which also lets JupyterLab with jupytext keep both files
in step. The text source is what authors edit and
review: cell types, sources, tags and hints. The ``.ipynb`` adds what only a run makes: the
stored full-mode outputs (``make store-outputs``), and the reveal.js slide type of each cell,
derived here from the cells by ``slide_types`` so that no author sets it by hand.

Unlike ``jupytext --sync``, which takes whichever file was modified last, this script always
reads the text source as the truth (file times after a ``git clone`` mean nothing).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import jupytext
import nbformat
from jupytext.combine import combine_inputs_with_outputs
from jupytext.config import load_jupytext_configuration_file

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SOURCES = NOTEBOOKS / "src"  # the numbered notebooks' text sources
TEMPLATE = NOTEBOOKS / "templates" / "template.ipynb"
FORMAT = "py:percent"
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
DERIVED_CELL_METADATA = ("slideshow",)  # set by this script, never written in a text source
# editor state that Jupyter adds (a collapsed output, timings): not authored, never compared, dropped on sync
EDITOR_CELL_METADATA = {"autoscroll", "collapsed", "scrolled", "trusted", "execution", "ExecuteTime", "jupyter",
                        "editable", "deletable"}


# --------------------------------------------------------------------------- slide types
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


# --------------------------------------------------------------------------- pairing
def notebook_paths() -> list[Path]:
    """Every paired notebook: the numbered ones and the template."""
    return [*sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")), TEMPLATE]


def text_path(notebook: Path) -> Path:
    """``<folder>/src/<name>.py`` for ``<folder>/<name>.ipynb`` (jupytext's ``src//py:percent``)."""
    return notebook.parent / "src" / f"{notebook.stem}.py"


def read_text(path: Path) -> nbformat.NotebookNode:
    """The notebook a text source describes (no outputs), read with jupytext."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path.relative_to(ROOT)} is missing: every notebook needs its text source; "
            f"write it from the notebook with `python scripts/notebook_sync.py --from-notebooks {path.stem}`")
    return jupytext.read(path, fmt=FORMAT)


def inputs(cell: nbformat.NotebookNode) -> tuple[str, str, dict]:
    """What a text source determines of a cell: its type, source and authored metadata."""
    meta = {k: v for k, v in cell.metadata.items()
            if k not in DERIVED_CELL_METADATA and k not in EDITOR_CELL_METADATA}
    return cell.cell_type, cell.source, meta


def differences(text_nb: nbformat.NotebookNode, nb: nbformat.NotebookNode, name: str) -> list[str]:
    """Where ``nb``'s inputs and slide metadata differ from its text source ``text_nb``;
    empty when they are in step."""
    problems = []
    if len(text_nb.cells) != len(nb.cells):
        problems.append(f"{name}: the text source has {len(text_nb.cells)} cells, the notebook {len(nb.cells)}")
    for k, (t, n) in enumerate(zip(text_nb.cells, nb.cells)):
        if inputs(t) != inputs(n):
            what = "type" if t.cell_type != n.cell_type else "source" if t.source != n.source else "metadata"
            problems.append(f"{name} cell {k}: {what} differs from the text source")
    if not problems:
        derived = slide_types(nb.cells)
        for k, (cell, slide_type) in enumerate(zip(nb.cells, derived)):
            if cell.metadata.get("slideshow") != {"slide_type": slide_type}:
                problems.append(f"{name} cell {k}: slide type is not the derived {slide_type!r}")
    return problems


def synced(text_nb: nbformat.NotebookNode, nb: nbformat.NotebookNode | None) -> nbformat.NotebookNode:
    """The notebook with the text source's inputs, ``nb``'s outputs (matched cell by cell by
    jupytext; an edited cell keeps its outputs until the next ``make store-outputs``) and the
    derived slide types. ``nb`` is None for a new notebook."""
    if nb is None:
        out = nbformat.v4.new_notebook(cells=text_nb.cells, metadata={
            "kernelspec": dict(KERNELSPEC), "language_info": {"name": "python"}})
    else:
        out = combine_inputs_with_outputs(text_nb, nb, fmt=FORMAT)
        out.metadata = nb.metadata
    for cell, text_cell in zip(out.cells, text_nb.cells):
        cell.metadata = nbformat.from_dict(inputs(text_cell)[2])  # authored metadata only
    return add_slide_metadata(out)


def sync(notebook: Path) -> bool:
    """Bring ``notebook`` in step with its text source; returns whether it was rewritten."""
    text_nb = read_text(text_path(notebook))
    nb = nbformat.read(notebook, as_version=4) if notebook.exists() else None
    if nb is not None and not differences(text_nb, nb, notebook.name):
        return False
    out = synced(text_nb, nb)
    nbformat.validate(out)
    nbformat.write(out, notebook)
    return True


def write_text(notebook: Path) -> Path:
    """Write the text source of ``notebook`` from its inputs (the reverse direction)."""
    config = load_jupytext_configuration_file(str(NOTEBOOKS / "jupytext.toml"))
    target = text_path(notebook)
    target.parent.mkdir(parents=True, exist_ok=True)
    jupytext.write(nbformat.read(notebook, as_version=4), target, fmt=FORMAT, config=config)
    return target


def orphans() -> list[Path]:
    """Text sources whose notebook is not paired (a renamed or deleted notebook)."""
    paired = {text_path(p) for p in notebook_paths()}
    found = [*SOURCES.glob("*.py"), *text_path(TEMPLATE).parent.glob("*.py")]
    return sorted(p for p in found if p not in paired)


def new_notebook(name: str, title: str) -> Path:
    """Start ``notebooks/<name>.ipynb`` from the template's text source: the badge points to
    the new notebook and the title is ``title``. Returns the new text source."""
    if not (len(name) > 3 and name[:2].isdigit() and name[2] == "_"):
        raise SystemExit(f"a notebook name is NN_name (two digits, underscore), not {name!r}")
    target = SOURCES / f"{name}.py"
    if target.exists() or (NOTEBOOKS / f"{name}.ipynb").exists():
        raise SystemExit(f"{name} exists already; pick another number or name")
    template = text_path(TEMPLATE).read_text(encoding="utf-8")
    old_path = TEMPLATE.relative_to(ROOT).as_posix()
    if old_path not in template or "# NN. Title of the notebook" not in template:
        raise SystemExit(f"{text_path(TEMPLATE).relative_to(ROOT)} lost its badge path or title placeholder")
    text = template.replace(old_path, f"notebooks/{name}.ipynb").replace(
        "# NN. Title of the notebook", f"# {title}")
    target.write_text(text, encoding="utf-8")
    sync(NOTEBOOKS / f"{name}.ipynb")
    return target


def select(prefixes: list[str]) -> list[Path]:
    """Paired notebooks whose file name starts with one of ``prefixes`` (all when empty)."""
    paths = notebook_paths()
    if prefixes:
        paths = [p for p in paths if any(p.name.startswith(x) for x in prefixes)]
        if not paths:
            raise SystemExit(f"no notebook matches {prefixes}; have {[p.name for p in notebook_paths()]}")
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="only notebooks whose file name starts with these")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--check", action="store_true", help="report differences, write nothing")
    group.add_argument("--from-notebooks", action="store_true", help="write text sources from the notebooks")
    group.add_argument("--new", nargs=2, metavar=("NN_NAME", "TITLE"), help="start a notebook from the template")
    args = parser.parse_args(argv)

    if args.new:
        target = new_notebook(*args.new)
        print(f"wrote {target.relative_to(ROOT)} and notebooks/{args.new[0]}.ipynb; edit the text source, "
              "then `make sync`")
        return 0
    paths = select(args.prefixes)
    if args.from_notebooks:
        for path in paths:
            print(f"wrote {write_text(path).relative_to(ROOT)}")
        return 0
    if args.check:
        problems = [f"{p.relative_to(ROOT)} is not paired with a notebook" for p in orphans()]
        for path in paths:
            try:
                text_nb = read_text(text_path(path))
            except FileNotFoundError as exc:
                problems.append(str(exc))
                continue
            problems += differences(text_nb, nbformat.read(path, as_version=4), path.name)
        for line in problems:
            print(line)
        if problems:
            print("run `make sync` to update the notebooks from their text sources")
            return 1
        print(f"{len(paths)} notebooks in step with their text sources")
        return 0
    for path in paths:
        if sync(path):
            print(f"updated {path.relative_to(ROOT)} from {text_path(path).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
