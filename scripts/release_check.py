"""Check that a release is consistent: badges, setup cells, data URLs and the git tag agree.

    python scripts/release_check.py            # (make release-check) exit 1 and list problems
    python scripts/release_check.py --update   # rewrite badges and setup cells in the text
                                               # sources from tutorial_utils/_meta.py, then sync

Colab badges, the Colab setup cell's ``pip install git+...@REF``, the Binder badge and the
data registry's download URLs all point to ``REPO_SLUG`` at ``REPO_REF``
(``tutorial_utils/_meta.py``). A release is only usable when that tag exists and holds the
same files: this script checks

- ``REPO_REF`` is ``v`` + the version in ``pyproject.toml``, and ``project.urls`` names the slug;
- every notebook's first cell carries its Colab badge and its setup cell is ``setup_cell()``;
- the README's Binder badge points to the slug at the ref;
- every registered data file of this repository is downloaded from the slug at the ref;
- the tag ``REPO_REF`` exists in this clone, its ``_meta.py`` names the same slug and ref, and
  every registered data file lies in the tag with the registered sha256 (what Colab will
  download).

The release steps are in the README ("For maintainers: making a release").
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/
from make_slides import COLAB_BADGE  # noqa: E402
from notebook_sync import (  # noqa: E402
    FORMAT,
    NOTEBOOKS,
    ROOT,
    jupytext,
    load_jupytext_configuration_file,
    notebook_paths,
    read_text,
    sync,
    text_path,
)

from tools.notebook_cells import colab_url, setup_cell  # noqa: E402
from tutorial_utils import _meta  # noqa: E402
from tutorial_utils.data import REGISTRY  # noqa: E402

BINDER_BADGE = re.compile(r"\[!\[Binder\]\([^)]*\)\]\(([^)]*)\)")


def binder_url() -> str:
    """The Binder launch address of the release: JupyterLab in ``notebooks/``."""
    return f"https://mybinder.org/v2/gh/{_meta.REPO_SLUG}/{_meta.REPO_REF}?urlpath=lab/tree/notebooks"


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True)


def metadata_problems() -> list[str]:
    """The version, the ref and the project URL agree."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    problems = []
    if _meta.REPO_REF != f"v{project['version']}":
        problems.append(f"REPO_REF is {_meta.REPO_REF!r} but pyproject.toml's version is {project['version']!r} "
                        f"(expected REPO_REF = 'v{project['version']}')")
    import tutorial_utils

    if tutorial_utils.__version__ != project["version"]:
        problems.append(f"tutorial_utils.__version__ is {tutorial_utils.__version__!r} but pyproject.toml's "
                        f"version is {project['version']!r}: make them equal")
    if project.get("urls", {}).get("Source") != _meta.REPO_URL:
        problems.append(f"pyproject.toml [project.urls] Source is not {_meta.REPO_URL}")
    return problems


def notebook_problems() -> list[str]:
    """Every notebook's badge and setup cell point to the release."""
    problems = []
    for path in notebook_paths():
        rel = path.relative_to(ROOT).as_posix()
        nb = nbformat.read(path, as_version=4)
        badges = COLAB_BADGE.findall(nb.cells[0].source) if nb.cells else []
        if badges != [colab_url(rel)]:
            problems.append(f"{rel}: Colab badge {badges} is not {colab_url(rel)}")
        code = [c for c in nb.cells if c.cell_type == "code"]
        if not code or code[0].source != setup_cell():
            problems.append(f"{rel}: the setup cell does not install {_meta.REPO_URL}@{_meta.REPO_REF}")
    return problems


def readme_problems() -> list[str]:
    """The README's Binder badge points to the release."""
    found = BINDER_BADGE.findall((ROOT / "README.md").read_text())
    if not found:
        return ["README.md has no Binder badge"]
    return [f"README.md: Binder badge {url} is not {binder_url()}" for url in found if url != binder_url()]


def registry_problems() -> list[str]:
    """Project data files are downloaded from the release."""
    prefix = f"https://raw.githubusercontent.com/{_meta.REPO_SLUG}/{_meta.REPO_REF}/"
    return [f"data set {name}: {entry.url} is not under {prefix}"
            for name, entry in REGISTRY.items() if entry.repo_path and entry.url != prefix + entry.repo_path]


def tag_problems() -> list[str]:
    """The tag exists and holds what the release points to."""
    ref = _meta.REPO_REF
    if _git("rev-parse", "-q", "--verify", f"refs/tags/{ref}").returncode != 0:
        return [f"tag {ref} does not exist: badges, setup cells and data URLs point to it. Make the release: "
                f"git tag -a {ref} -m 'Release {ref}' && git push origin {ref}"]
    problems = []
    meta = _git("show", f"{ref}:tutorial_utils/_meta.py").stdout.decode()
    for name in ("REPO_SLUG", "REPO_REF"):
        if f'{name} = "{getattr(_meta, name)}"' not in meta:
            problems.append(f"tag {ref}: tutorial_utils/_meta.py has another {name} (tag the commit that sets it)")
    for name, entry in REGISTRY.items():
        if not entry.repo_path:
            continue
        blob = _git("show", f"{ref}:{entry.repo_path}")
        if blob.returncode != 0:
            problems.append(f"tag {ref} lacks {entry.repo_path} (data set {name})")
        elif hashlib.sha256(blob.stdout).hexdigest() != entry.sha256:
            problems.append(f"tag {ref}: {entry.repo_path} differs from the registered sha256 (data set {name})")
    return problems


def update_text_sources() -> list[Path]:
    """Rewrite each text source's Colab badge and setup cell from ``_meta``; returns the
    text sources changed (their notebooks are synced, outputs kept)."""
    config = load_jupytext_configuration_file(str(NOTEBOOKS / "jupytext.toml"))
    changed = []
    for path in notebook_paths():
        rel = path.relative_to(ROOT).as_posix()
        text_nb = read_text(text_path(path))
        before = [c.source for c in text_nb.cells]
        first = text_nb.cells[0]
        url = colab_url(rel)
        first.source = COLAB_BADGE.sub(lambda m, url=url: m.group(0).replace(m.group(1), url), first.source)
        code = [c for c in text_nb.cells if c.cell_type == "code"]
        if code and "from tutorial_utils import setup" in code[0].source:
            code[0].source = setup_cell()
        if [c.source for c in text_nb.cells] != before:
            jupytext.write(text_nb, text_path(path), fmt=FORMAT, config=config)
            sync(path)
            changed.append(text_path(path))
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--update", action="store_true",
                        help="rewrite badges and setup cells of the text sources from tutorial_utils/_meta.py")
    args = parser.parse_args(argv)
    if args.update:
        for path in update_text_sources():
            print(f"updated {path.relative_to(ROOT)}")
    print(f"release: {_meta.REPO_SLUG} at {_meta.REPO_REF}")
    problems = []
    for check in (metadata_problems, notebook_problems, readme_problems, registry_problems, tag_problems):
        found = check()
        print(f"  {check.__name__.removesuffix('_problems'):<9} {'ok' if not found else f'{len(found)} problem(s)'}")
        problems += found
    for line in problems:
        print(f"  - {line}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
