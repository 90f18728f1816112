"""Every notebook follows notebooks/STYLE.md: badge and title, goals, the one setup cell,
a summary, exercises with solution cells, references."""

import nbformat
import pytest

from tools.notebook_cells import GPU_NOTE, colab_url, setup_cell

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
    assert GPU_NOTE in first.source, f"{rel}: the first cell must say how to pick a GPU on Colab (GPU_NOTE)"
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


# The recorded talks of the MRS Fall 2021 e3nn tutorial that each notebook follows, for
# self-study (watch, then run); the README lists the same.
PLAYLIST = "https://www.youtube.com/watch?v=q9EwZsHY1sk&list=PLx3xbphkO3qIlBoESkbafXaDtr0tq5iRd"
TALKS = {
    "01": ("Smidt", ["https://youtu.be/q9EwZsHY1sk",
                     "https://docs.google.com/presentation/d/1y-fCZihLoSBgAqNYKZY1-jy8qpvqagqPTsX-jR0uTm8/edit?usp=sharing"]),
    "02": ("Geiger", ["https://youtu.be/9rS8gtey_Ic", "https://slides.com/mariogeiger/e3nn_mrs_2021/"]),
    "03": ("Uhrin and Hardin", []),
    "04": ("Batzner and Musaelian", []),
    "05": ("Rackers", []),
    "06": ("Andrejevic and Chen", []),
}


# Notebooks that no talk of the 2021 tutorial covers link their sources instead: the code and
# papers they build on (the README's self-study section lists the same links).
SOURCES = {
    "07": ["https://github.com/virtualatoms/AnisoNet", "https://arxiv.org/abs/2405.07915",
           "https://github.com/wengroup/matten", "https://arxiv.org/abs/2307.15242"],
}


def test_every_notebook_links_a_talk_or_its_sources():
    numbers = {p.name[:2] for p in CURRICULUM}
    assert not set(TALKS) & set(SOURCES), "a notebook is in both TALKS and SOURCES"
    assert numbers == set(TALKS) | set(SOURCES), \
        f"notebooks without a talk or sources: {sorted(numbers - set(TALKS) - set(SOURCES))}"


@pytest.mark.parametrize("number", sorted(SOURCES))
def test_opening_cell_links_its_sources(number):
    (path,) = [p for p in CURRICULUM if p.name.startswith(number)]
    first = nbformat.read(path, as_version=4).cells[0].source
    assert "sources behind this notebook" in first.lower(), f"{path.name}: the first cell must name its sources"
    readme = (ROOT / "README.md").read_text()
    for url in SOURCES[number]:
        assert f"]({url})" in first, f"{path.name}: the first cell must link {url}"
        assert url in readme, f"README: the self-study section must link {url} for notebook {number}"


@pytest.mark.parametrize("number", sorted(TALKS))
def test_opening_cell_names_and_links_its_talk(number):
    (path,) = [p for p in CURRICULUM if p.name.startswith(number)]
    first = nbformat.read(path, as_version=4).cells[0].source
    speakers, links = TALKS[number]
    assert f"Tutorial {int(number)}, by {speakers}" in first, f"{path.name}: the first cell must name its talk"
    for url in [*links, PLAYLIST]:
        assert f"]({url})" in first, f"{path.name}: the first cell must link {url}"
    readme = (ROOT / "README.md").read_text()
    assert all(url in readme for url in [*links, PLAYLIST]) and speakers in readme, "README: self-study route"
