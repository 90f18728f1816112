"""Every notebook follows notebooks/STYLE.md: badge and title, goals, the one setup cell,
a summary, exercises with solution cells, references."""

import nbformat
import pytest

from tutorial_utils.notebook_cells import colab_url, setup_cell

from .notebook_files import ALL, CURRICULUM, ROOT, ids


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_structure(path):
    nb = nbformat.read(path, as_version=4)
    rel = path.relative_to(ROOT).as_posix()
    cells = nb.cells
    first = cells[0]
    assert first.cell_type == "markdown" and colab_url(rel) in first.source, \
        f"{rel}: the first cell must be the Colab badge for {rel} (use badge_cell)"
    assert "\n# " in "\n" + first.source, f"{rel}: the first cell must hold the title (# ...)"
    markdown = "\n".join(c.source for c in cells if c.cell_type == "markdown").lower()
    for heading in ("what you will learn", "prerequisites", "summary", "exercises", "references"):
        assert heading in markdown, f"{rel}: no '{heading}' section"
    code = [c for c in cells if c.cell_type == "code"]
    assert code[0].source == setup_cell(), f"{rel}: the first code cell must be setup_cell() verbatim"
    solutions = [c for c in code if "solution" in c.metadata.get("tags", [])]
    assert solutions, f"{rel}: exercises need code cells tagged 'solution'"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"


def test_curriculum_notebooks_have_unique_numbers():
    numbers = [p.name[:2] for p in CURRICULUM]
    assert len(numbers) == len(set(numbers))
