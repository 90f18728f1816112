"""The offline HTML pages that ``make notebooks`` writes to build/html/ (scripts/run_notebooks.py,
rendered by ``make_slides.html_page``): each loads nothing from the web, and (slow, headless
Chromium) shows every equation typeset by the local MathJax with no TeX error, and every
plotly figure drawn. Skipped with ``TUTORIAL_SKIP_BROWSER=1`` like the deck check."""

from __future__ import annotations

import re

import nbformat
import pytest

from .notebook_files import CURRICULUM, ROOT, ids
from .test_slides import make_slides, require_browser


def test_page_refers_only_to_local_files(tmp_path):
    nb = nbformat.read(CURRICULUM[0], as_version=4)
    html = make_slides.html_page(nb, CURRICULUM[0].stem)
    loaded = re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', html)
    assert "assets/mathjax/tex-svg-full.js" in loaded
    assert not [u for u in loaded if u.startswith(("http:", "https:", "//"))], loaded
    assert "colab-badge.svg" not in html and "Open in Colab" in html
    assert "cdnjs" not in html.split("<body", 1)[0], "the head still loads a CDN script"


@pytest.fixture(scope="module")
def html_dir(tmp_path_factory):
    require_browser("HTML check")
    out = ROOT / "build" / "html-check"
    out.mkdir(parents=True, exist_ok=True)
    make_slides.install_assets(out / "assets")
    return out


@pytest.mark.slow
@pytest.mark.parametrize("path", CURRICULUM, ids=ids(CURRICULUM))
def test_html_page_in_headless_chromium(path, html_dir):
    nb = nbformat.read(path, as_version=4)
    page = html_dir / f"{path.stem}.html"
    page.write_text(make_slides.html_page(nb, path.stem), encoding="utf-8")
    report = make_slides.inspect_html(page, html_dir / f"{path.stem}.png")
    print(f"{page.name}: {report}")
    assert report.remote_requests == [], f"{page.name} loads files from the web: {report.remote_requests}"
    assert report.failed_requests == [], f"{page.name}: files failed to load: {report.failed_requests}"
    assert report.exceptions == [], f"{page.name}: JavaScript errors: {report.exceptions}"
    assert report.math >= make_slides.math_in_markdown(nb) > 0, "equations were not typeset"
    assert report.math_errors == 0, f"{page.name}: {report.math_errors} TeX errors"
    plotly_outputs = sum(make_slides.PLOTLY_MIME in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert report.plotly == plotly_outputs, "not every plotly figure was drawn"
