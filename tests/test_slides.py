"""The slide decks (scripts/make_slides.py): every notebook carries the slide metadata that
scripts/notebook_sync.py derives, a deck loads nothing from the web, and (slow, headless Chromium) each deck
shows the expected number of slides with its equations typeset and its plotly figures
drawn; the title-slide screenshots are written to slides/NN_name.title.png.

Without Chromium or npm the browser test fails, saying what to install; set
``TUTORIAL_SKIP_BROWSER=1`` to skip it on purpose (a laptop without Chromium)."""

from __future__ import annotations

import os
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from .notebook_files import CURRICULUM, ids, load_script

make_slides = load_script("make_slides")
notebook_sync = load_script("notebook_sync")
SKIP_BROWSER = os.environ.get("TUTORIAL_SKIP_BROWSER") == "1"


def test_slide_types_follow_headings_code_and_solutions():
    cells = [
        new_markdown_cell("[badge](x)\n\n# Title"),
        new_markdown_cell("## What you will learn\n- a"),
        new_code_cell("setup()"),
        new_markdown_cell("Text after code starts a subslide."),
        new_markdown_cell("More text stays on it."),
        new_markdown_cell("### A subsection"),
        new_code_cell("x = 1"),
        new_code_cell("solve()", metadata={"tags": ["solution"]}),
        new_markdown_cell("## Summary"),
    ]
    assert notebook_sync.slide_types(cells) == [
        "slide", "slide", "-", "subslide", "-", "subslide", "-", "fragment", "slide"]


@pytest.mark.parametrize("path", CURRICULUM, ids=ids(CURRICULUM))
def test_stored_notebook_has_the_derived_slide_metadata(path):
    stored = nbformat.read(path, as_version=4)
    for k, (cell, slide_type) in enumerate(zip(stored.cells, notebook_sync.slide_types(stored.cells))):
        assert cell.metadata.get("slideshow") == {"slide_type": slide_type}, (
            f"{path.name} cell {k}: slide metadata is not the derived {slide_type!r}; run "
            "`make sync` (writes inputs and metadata only, runs nothing)")


def _tiny_notebook() -> nbformat.NotebookNode:
    figure = {"data": [{"type": "scatter", "y": [1, 2]}], "layout": {}}
    nb = new_notebook(cells=[
        new_markdown_cell("[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
                          "(https://colab.research.google.com/github/o/r/blob/v1/n.ipynb)\n\n# T"),
        new_markdown_cell("## Equation\n$$ E = mc^2 $$ and $x$, not `$y$`"),
        new_code_cell("fig.show()", outputs=[new_output(
            "display_data", data={make_slides.PLOTLY_MIME: figure, "text/plain": ""})]),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    return notebook_sync.add_slide_metadata(nb)


def test_deck_loads_only_local_files_and_draws_plotly_figures(tmp_path):
    nb = _tiny_notebook()
    assert make_slides.expected_slides(nb) == 2
    assert make_slides.math_in_markdown(nb) == 2
    source = tmp_path / "99_tiny.ipynb"
    nbformat.write(nb, source)
    html = make_slides.render(source, tmp_path).read_text()
    loaded = re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html)
    assert loaded and all(url.startswith("assets/") for url in loaded), loaded
    assert "colab-badge.svg" not in html, "the badge image comes from the web; the deck shows a link"
    assert 'Plotly.newPlot("plotly-figure-1"' in html
    assert html.count("<section") >= 2


# --------------------------------------------------------------------------- headless browser
def require_browser(check: str) -> None:
    """Skip on purpose (``TUTORIAL_SKIP_BROWSER=1``), or fail saying what to install."""
    if SKIP_BROWSER:
        pytest.skip(f"TUTORIAL_SKIP_BROWSER=1: {check} in Chromium skipped on purpose")
    if make_slides.find_chromium() is None:
        pytest.fail("chromium not found: install Debian's package (apt-get install chromium), "
                    f"or set TUTORIAL_SKIP_BROWSER=1 to skip the {check}")


@pytest.fixture(scope="module")
def assets():
    require_browser("deck check")
    return make_slides.install_assets()


@pytest.mark.slow
@pytest.mark.parametrize("path", CURRICULUM, ids=ids(CURRICULUM))
def test_deck_in_headless_chromium(path, assets):
    nb = nbformat.read(path, as_version=4)
    deck = make_slides.render(path)
    shot = make_slides.screenshot_path(path)
    shot.unlink(missing_ok=True)
    report = make_slides.inspect_deck(deck, shot)
    print(f"{deck.name}: {report}")
    assert report.remote_requests == [], f"{deck.name} loads files from the web: {report.remote_requests}"
    assert report.failed_requests == [], f"{deck.name}: files failed to load: {report.failed_requests}"
    assert report.exceptions == [], f"{deck.name}: JavaScript errors: {report.exceptions}"
    assert report.slides == make_slides.expected_slides(make_slides.for_slides(nb, path.stem)), \
        "slide count differs from the slide metadata (plus the instructor plan's slide)"
    assert report.math >= make_slides.math_in_markdown(nb) > 0, "equations were not typeset"
    assert report.math_errors == 0, f"{deck.name}: {report.math_errors} TeX errors"
    plotly_outputs = sum(make_slides.PLOTLY_MIME in o.get("data", {})
                         for c in nb.cells for o in c.get("outputs", []))
    assert report.plotly == plotly_outputs, "not every plotly figure was drawn"

    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 800)
        low, high = image.convert("L").getextrema()
        assert high - low > 100, f"{shot.name} is blank"
