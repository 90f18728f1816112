"""Render each notebook as a reveal.js slide deck that works offline.

    python scripts/make_slides.py                  # every notebook -> slides/NN_name.slides.html
    python scripts/make_slides.py 01 03            # only notebooks whose name starts so
    python scripts/make_slides.py --check          # also open each deck in headless Chromium,
                                                   # check it and screenshot its title slide

The decks render from the stored notebooks in ``notebooks/`` (with their outputs; nothing
is executed). Slides follow each cell's ``metadata.slideshow.slide_type``, which the
sync step derives from the cells (``scripts/notebook_sync.py``: ``slide_types``; ``make sync``
writes it, a test checks it). A deck loads only
local files: reveal.js and MathJax 3 from the npm packages pinned in
``slides/package-lock.json`` (installed with ``npm ci`` under ``build/slides-npm/``) and
plotly.js from the plotly Python package, all copied to ``slides/assets/``; plotly figures
stay interactive. ``--check`` needs Debian's ``chromium`` (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import base64
import copy
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SLIDES = ROOT / "slides"
ASSETS = SLIDES / "assets"
NPM_DIR = ROOT / "build" / "slides-npm"
PLOTLY_MIME = "application/vnd.plotly.v1+json"
COLAB_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\(([^)]*)\)")  # group 1: the notebook's address
REMOTE_LOAD = re.compile(r'<(?:script|link)[^>]+(?:src|href)="(https?:[^"]+)"')


def badge_as_link(markdown: str) -> str:
    """The Colab badge (an image from the web) as a plain link, for pages that work offline."""
    return COLAB_BADGE.sub(r"[Open in Colab](\1)", markdown)


def refuse_remote_loads(html: str, what: str) -> str:
    """``html`` unchanged, or ``RuntimeError`` if it loads a script or style sheet from the web."""
    for url in REMOTE_LOAD.findall(html):
        raise RuntimeError(f"{what} would load {url} from the web")
    return html

# files a deck loads: path under slides/assets/ -> path under node_modules/ (npm packages)
NPM_ASSETS = {
    "reveal.js/dist/reveal.js": "reveal.js/dist/reveal.js",
    "reveal.js/dist/reveal.css": "reveal.js/dist/reveal.css",
    "reveal.js/dist/theme/white.css": "reveal.js/dist/theme/white.css",
    "reveal.js/dist/theme/fonts/source-sans-pro": "reveal.js/dist/theme/fonts/source-sans-pro",
    "reveal.js/plugin/notes/notes.js": "reveal.js/plugin/notes/notes.js",
    "reveal.js/LICENSE": "reveal.js/LICENSE",
    "mathjax/tex-svg-full.js": "mathjax/es5/tex-svg-full.js",
    "mathjax/LICENSE": "mathjax/LICENSE",
}


def notebook_paths(prefixes: list[str]) -> list[Path]:
    """The numbered notebooks (``NN_name.ipynb``), optionally filtered by name prefix."""
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    if prefixes:
        paths = [p for p in paths if any(p.name.startswith(x) for x in prefixes)]
        if not paths:
            raise SystemExit(f"no notebook matches {prefixes}")
    return paths


def deck_path(notebook: Path, out_dir: Path = SLIDES) -> Path:
    """``slides/NN_name.slides.html`` for ``notebooks/NN_name.ipynb``."""
    return out_dir / f"{notebook.stem}.slides.html"


def screenshot_path(notebook: Path, out_dir: Path = SLIDES) -> Path:
    """``slides/NN_name.title.png``: the screenshot of a deck's title slide."""
    return out_dir / f"{notebook.stem}.title.png"


# --------------------------------------------------------------------------- slide metadata
def expected_slides(nb: nbformat.NotebookNode) -> int:
    """How many slides (reveal.js counts every subslide) the metadata of ``nb`` asks for."""
    types = [c.metadata.get("slideshow", {}).get("slide_type", "-") for c in nb.cells]
    return sum(t in ("slide", "subslide") for t in types)


def math_in_markdown(nb: nbformat.NotebookNode) -> int:
    """Number of TeX expressions (``$...$``, ``$$...$$``) in the markdown cells of ``nb``,
    ignoring code spans and escaped dollars."""
    count = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = re.sub(r"```.*?```|`[^`\n]*`", "", cell.source, flags=re.S).replace(r"\$", "")
            count += len(re.findall(r"\$\$.+?\$\$|\$[^$\n]+?\$", text, flags=re.S))
    return count


# --------------------------------------------------------------------------- assets
def install_assets(assets: Path = ASSETS) -> Path:
    """Copy reveal.js, MathJax (npm, pinned by slides/package-lock.json) and plotly.js (the
    plotly Python package) into ``assets``; runs ``npm ci`` once under build/slides-npm/."""
    modules = NPM_DIR / "node_modules"
    lock = SLIDES / "package-lock.json"
    stamp = NPM_DIR / "package-lock.json"
    if not (modules.is_dir() and stamp.is_file() and stamp.read_bytes() == lock.read_bytes()):
        npm = shutil.which("npm")
        if npm is None:
            raise FileNotFoundError("npm not found: the decks' reveal.js and MathJax come from npm packages; "
                                    "install Node.js and npm (Debian: apt-get install npm)")
        NPM_DIR.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SLIDES / "package.json", NPM_DIR / "package.json")
        shutil.copyfile(lock, NPM_DIR / "package-lock.json")
        subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=NPM_DIR, check=True)
    for target, source in NPM_ASSETS.items():
        src, dst = modules / source, assets / target
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)
    import plotly

    package_data = Path(plotly.__file__).parent / "package_data"
    (assets / "plotly").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(package_data / "plotly.min.js", assets / "plotly" / "plotly.min.js")
    (assets / "plotly" / "VERSION").write_text(f"plotly.py {plotly.__version__} (its bundled plotly.min.js)\n")
    return assets


# --------------------------------------------------------------------------- rendering
def add_instructor_plan(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Where ``INSTRUCTORS.md`` plans the notebook ``name``: its plan as the deck's second
    slide, and a speaker note (reveal.js speaker view) on every planned section's slide,
    saying its minutes and whether to run it live. ``nb`` is changed and returned."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import instructor_plan

    rows = {r.section: r for r in instructor_plan.read_plans().get(name, [])}
    if not rows:
        return nb
    cells, minute = [], 0
    for k, cell in enumerate(nb.cells):
        cells.append(cell)
        if k == 0:
            plan = nbformat.v4.new_markdown_cell(instructor_plan.plan_markdown(list(rows.values())))
            plan.metadata["slideshow"] = {"slide_type": "slide"}
            cells.append(plan)
        for heading in (h for h in instructor_plan.cell_sections(cell) if h in rows):
            row = rows[heading]
            note = nbformat.v4.new_markdown_cell(instructor_plan.speaker_note(row, minute))
            note.metadata["slideshow"] = {"slide_type": "notes"}
            cells.append(note)
            minute += row.minutes
    nb.cells = cells
    return nb


def for_slides(nb: nbformat.NotebookNode, name: str | None = None) -> nbformat.NotebookNode:
    """A copy of ``nb`` ready for the deck: plotly figures become a div drawn by the local
    plotly.js (nbconvert shows nothing for plotly's JSON), and the Colab badge image (an
    image from the web) becomes a plain link. With the notebook's ``name``, the instructor
    plan of ``INSTRUCTORS.md`` is added (:func:`add_instructor_plan`)."""
    out = copy.deepcopy(nb)
    if name is not None:
        add_instructor_plan(out, name)
    n = 0
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = badge_as_link(cell.source)
        for output in cell.get("outputs", []):
            fig = output.get("data", {}).get(PLOTLY_MIME)
            if fig is None:
                continue
            fig = copy.deepcopy(fig)
            layout = fig.setdefault("layout", {})
            layout.setdefault("width", 800)
            layout.setdefault("height", 500)
            payload = json.dumps(fig).replace("</", "<\\/")
            n += 1
            div = f"plotly-figure-{n}"
            output["data"] = {"text/html": (
                f'<div id="{div}" class="plotly-figure" style="width:{layout["width"]}px;'
                f'height:{layout["height"]}px"></div>\n'
                f'<script>(function () {{ var f = {payload};\n'
                f'Plotly.newPlot("{div}", f.data, f.layout, {{displaylogo: false}}); }})();</script>'
            )}
    return out


def render(path: Path, out_dir: Path = SLIDES) -> Path:
    """Render ``notebooks/NN_name.ipynb`` to ``out_dir/NN_name.slides.html``; the assets must
    be in ``out_dir/assets`` (``install_assets``)."""
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(
        extra_template_basedirs=[str(SLIDES)], template_name="template",
        reveal_url_prefix="assets/reveal.js", reveal_theme="white", reveal_number="c/t",
        exclude_input_prompt=True, exclude_output_prompt=True,
    )
    nb = for_slides(nbformat.read(path, as_version=4), path.stem)
    html, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": path.stem}})
    refuse_remote_loads(html, f"{path.name}: the deck")
    target = deck_path(path, out_dir)
    target.write_text(html, encoding="utf-8")
    return target


# --------------------------------------------------------------------------- browser check
@dataclass
class DeckReport:
    """What a deck showed in headless Chromium."""

    slides: int = 0                      # Reveal.getTotalSlides()
    math: int = 0                        # rendered TeX expressions (mjx-container)
    math_errors: int = 0                 # TeX that MathJax could not parse
    plotly: int = 0                      # drawn plotly figures
    remote_requests: list[str] = field(default_factory=list)  # anything not file:/data:
    failed_requests: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)       # uncaught JavaScript errors


def find_chromium() -> str | None:
    """The Chromium executable (``$TUTORIAL_CHROMIUM``, else ``chromium`` on the PATH)."""
    return os.environ.get("TUTORIAL_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


class _Chromium:
    """Headless Chromium driven over the DevTools protocol on a pipe (fds 3 and 4), so no
    port is opened and no extra package is needed."""

    def __init__(self, executable: str, timeout: float = 60.0) -> None:
        self.timeout = timeout
        self.profile = tempfile.TemporaryDirectory(prefix="chromium-profile-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds() -> None:  # the protocol pipe must be fds 3 (commands) and 4 (replies)
            commands, replies = os.dup(to_child_r), os.dup(from_child_w)  # above 4: safe to move
            os.dup2(commands, 3)
            os.dup2(replies, 4)

        self.proc = subprocess.Popen(
            [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--mute-audio", "--hide-scrollbars",
             f"--user-data-dir={self.profile.name}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_fds, pass_fds=(3, 4),  # fds the child keeps after wire_fds
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._id = 0
        self.events: list[dict] = []

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_child], [], [], left)[0]:
                raise TimeoutError("Chromium did not answer in time")
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe (did it start? try: chromium --version)")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and return its result; events that arrive meanwhile are kept."""
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def evaluate(self, session: str, expression: str):
        result = self.send("Runtime.evaluate", session, expression=expression, returnByValue=True)
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:  # already gone
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_child)
        os.close(self._from_child)
        self.profile.cleanup()


INSPECT_JS = """JSON.stringify({
  slides: window.Reveal ? Reveal.getTotalSlides() : 0,
  math: document.querySelectorAll("mjx-container").length,
  math_errors: document.querySelectorAll("mjx-merror, [data-mjx-error]").length,
  plotly: document.querySelectorAll(".plotly-figure.js-plotly-plot, .plotly-graph-div.js-plotly-plot").length
})"""


def inspect_page(page: Path, screenshot: Path | None = None, width: int = 1280, height: int = 800,
                 timeout: float = 60.0, ready: str = "window.deckReady === true",
                 before_screenshot: str | None = None) -> DeckReport:
    """Open ``page`` (a local HTML file) in headless Chromium, wait until the JavaScript
    expression ``ready`` is true (a deck or page sets its flag once MathJax is done), and
    report what it shows; save a PNG to ``screenshot`` after running ``before_screenshot``."""
    executable = find_chromium()
    if executable is None:
        raise FileNotFoundError("chromium not found: install Debian's package (apt-get install chromium) "
                                "or set TUTORIAL_CHROMIUM to a Chromium executable")
    browser = _Chromium(executable, timeout=timeout)
    try:
        target = browser.send("Target.createTarget", url="about:blank")["targetId"]
        session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Network", "Runtime"):
            browser.send(f"{domain}.enable", session)
        browser.send("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
                     deviceScaleFactor=1, mobile=False)
        browser.send("Page.navigate", session, url=page.resolve().as_uri())
        deadline = time.monotonic() + timeout
        while not browser.evaluate(session, ready):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{page.name}: not ready ({ready}) after {timeout:.0f} s")
            time.sleep(0.2)
        report = DeckReport(**json.loads(browser.evaluate(session, INSPECT_JS)))
        if screenshot is not None:
            if before_screenshot:
                browser.evaluate(session, before_screenshot)
                time.sleep(1.0)  # let a slide transition or scroll finish
            png = browser.send("Page.captureScreenshot", session, format="png")["data"]
            screenshot.write_bytes(base64.b64decode(png))
        for event in browser.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(("file:", "data:", "about:", "blob:")):
                    report.remote_requests.append(url)
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                report.failed_requests.append(f"{params.get('errorText')} ({params.get('requestId')})")
            elif method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                report.exceptions.append(details.get("exception", {}).get("description") or details.get("text"))
        return report
    finally:
        browser.close()


def inspect_deck(deck: Path, screenshot: Path | None = None, width: int = 1280, height: int = 800,
                 timeout: float = 60.0, slide: tuple[int, int] = (0, 0)) -> DeckReport:
    """Open ``deck`` in headless Chromium, wait until reveal.js and MathJax are done, and
    report what it shows; save a PNG of ``slide`` (horizontal, vertical index; default the
    title slide) to ``screenshot``."""
    return inspect_page(deck, screenshot, width, height, timeout, ready="window.deckReady === true",
                        before_screenshot=f"Reveal.slide({slide[0]}, {slide[1]})")


# --------------------------------------------------------------------------- HTML pages
HTML_TEMPLATE = ROOT / "scripts" / "html_template"


def html_page(nb: nbformat.NotebookNode, name: str) -> str:
    """The offline HTML page of a notebook (``build/html/NN_name.html``): nbconvert's lab
    page with local MathJax 3 from ``assets/`` (``install_assets(out_dir / "assets")``),
    plotly.js embedded once, and the Colab badge image as a plain link."""
    import plotly.io as pio
    from nbconvert import HTMLExporter

    out = copy.deepcopy(nb)
    first = True
    for cell in out.cells:
        if cell.cell_type == "markdown":
            cell.source = badge_as_link(cell.source)
        for output in cell.get("outputs", []):
            fig = output.get("data", {}).get(PLOTLY_MIME)
            if fig is not None:
                output["data"]["text/html"] = pio.to_html(fig, include_plotlyjs=first, full_html=False)
                first = False
    exporter = HTMLExporter(extra_template_basedirs=[str(HTML_TEMPLATE.parent)], template_name=HTML_TEMPLATE.name)
    html, _ = exporter.from_notebook_node(out, resources={"metadata": {"name": name}})
    return refuse_remote_loads(html, f"{name}: the HTML page")


def inspect_html(page: Path, screenshot: Path | None = None, timeout: float = 60.0) -> DeckReport:
    """Open an HTML page of ``html_page`` in headless Chromium once MathJax is done."""
    return inspect_page(page, screenshot, timeout=timeout, ready="window.pageReady === true")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="only notebooks whose file name starts with these")
    parser.add_argument("--check", action="store_true", help="open each deck in headless Chromium, "
                        "check slides, equations and offline loading, save a title-slide screenshot")
    args = parser.parse_args()
    paths = notebook_paths(args.prefixes)
    install_assets()
    problems = []
    for path in paths:
        deck = render(path)
        nb = for_slides(nbformat.read(path, as_version=4), path.stem)
        line = f"{deck.relative_to(ROOT)}: {expected_slides(nb)} slides"
        if args.check:
            shot = screenshot_path(path)
            r = inspect_deck(deck, shot)
            line += (f"; browser: {r.slides} slides, {r.math} equations ({r.math_errors} errors), "
                     f"{r.plotly} plotly figures; screenshot {shot.relative_to(ROOT)}")
            if r.slides != expected_slides(nb) or r.math_errors or r.remote_requests or r.exceptions:
                problems.append(f"{path.name}: {r}")
        print(line, flush=True)
    if problems:
        print("PROBLEMS:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
