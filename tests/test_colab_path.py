"""The Colab path of the setup cell, for real: a fresh venv with only torch in it (Colab's
torch stays), the setup cell run with Colab detection forced on, installing the package
from a loopback git URL at the pinned ref (as it would from GitHub), then every import
notebook 01 makes. Slow (about 1-2 min): deselect with ``-m "not slow"``; CI runs it."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import time
from pathlib import Path

import nbformat
import pytest

from tools.notebook_cells import badge_cell, colab_url, setup_cell
from tutorial_utils._meta import REPO_REF

from .notebook_files import CURRICULUM, ROOT, ids
from .venv_tools import TORCH, clean_env, installed, make_venv, pip_install, run

NOTEBOOK_01 = ROOT / "notebooks" / "01_symmetry_intro.ipynb"
# What the package build needs; everything else in the repository is not part of the package.
PACKAGE_FILES = ["pyproject.toml", "README.md", "tutorial_utils"]
# Compiled dependencies are fine where Colab already has them (it keeps its own copy; this
# venv starts empty, so they are installed here): its scientific Python stack.
COLAB_PREINSTALLED = {"numpy", "scipy", "matplotlib", "contourpy", "kiwisolver", "fonttools", "pillow",
                      "pandas", "lxml", "orjson", "psutil", "charset-normalizer", "aiohttp", "yarl",
                      "multidict", "frozenlist", "propcache", "xxhash", "pyyaml", "markupsafe"}
# The only compiled packages the Colab install adds; each has manylinux wheels for Colab's
# Python (nothing is compiled there): vesin (neighbour lists), pymatgen-core and its spglib.
NEW_BINARY_WHEELS = {"vesin", "pymatgen-core", "spglib"}
# Pure-Python packages published only as a source archive (no compiler involved).
SDIST_OK = {"bibtexparser"}  # 1.4.4, needed by pymatgen


def notebook_imports(path: Path) -> list[str]:
    """Every import statement in the code cells of a notebook, as source lines."""
    lines: list[str] = []
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        source = "\n".join(x for x in cell.source.splitlines() if not x.lstrip().startswith(("!", "%")))
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import | ast.ImportFrom) and not getattr(node, "level", 0):
                line = ast.unparse(node)
                if line not in lines:
                    lines.append(line)
    return lines


def git_repo_at_ref(where: Path) -> str:
    """A git repository holding the package files, tagged ``REPO_REF``; returns the pip URL
    the setup cell installs from (``git+file://...@REF``, like ``git+https://github.com/...@REF``)."""
    git = shutil.which("git")
    assert git, "git not found: the Colab-path test serves the package from a loopback git URL"
    where.mkdir()
    for name in PACKAGE_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, where / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copyfile(src, where / name)
    ident = ["-c", "user.name=colab-test", "-c", "user.email=colab-test@localhost"]
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], [*ident, "commit", "-q", "-m", "package"],
                 ["tag", REPO_REF]):
        subprocess.run([git, *args], cwd=where, check=True, capture_output=True)
    return f"git+{where.resolve().as_uri()}@{REPO_REF}"


@pytest.mark.parametrize("path", CURRICULUM, ids=ids(CURRICULUM))
def test_first_cell_has_a_working_colab_badge(path):
    rel = path.relative_to(ROOT).as_posix()
    first = nbformat.read(path, as_version=4).cells[0].source
    url = colab_url(rel)
    assert url == f"https://colab.research.google.com/github/e3nn-materials/e3nn-materials-tutorial/blob/{REPO_REF}/{rel}"
    assert f"]({url})" in first, f"{rel}: the badge does not link to {url}"
    assert first.startswith(badge_cell(rel, "").split("\n\n")[0]), f"{rel}: the badge must open cell 1"


@pytest.mark.slow
def test_setup_cell_installs_the_package_on_colab_and_notebook_01_imports(tmp_path):
    t0 = time.perf_counter()
    env = clean_env()
    work = tmp_path / "colab"  # not the repository: there, tutorial_utils would import from the checkout
    work.mkdir()
    python = make_venv(tmp_path / "venv")
    pip_install(python, TORCH, cwd=work, env=env, timeout=240)
    t_torch = time.perf_counter() - t0
    before = installed(python, work, env)
    assert before["torch"].startswith("2.13.0"), before["torch"]

    url = git_repo_at_ref(tmp_path / "repo")
    report = tmp_path / "pip-report.json"
    (work / "setup_cell.py").write_text(setup_cell() + "\nprint('device:', device)\n")
    colab_env = clean_env(
        TUTORIAL_FORCE_COLAB="1", TUTORIAL_REPO_URL=url, TUTORIAL_PROGRESS="0", MPLBACKEND="Agg",
        # the verified versions (constraints.txt pins torch to the one installed: never replaced)
        PIP_CONSTRAINT=str(ROOT / "constraints.txt"), PIP_REPORT=str(report),
    )
    out = run([str(python), "setup_cell.py"], work, colab_env, timeout=400).stdout
    t_setup = time.perf_counter() - t0 - t_torch
    assert "device: cpu" in out

    after = installed(python, work, env)
    assert after["torch"] == before["torch"], "the setup cell replaced torch"
    assert not [n for n in after if n.startswith(("nvidia-", "triton"))], "CUDA packages were installed"
    items = json.loads(report.read_text())["install"]
    names = {i["metadata"]["name"].lower().replace("_", "-"): i for i in items}
    assert "e3nn-materials-tutorial" in names and "torch" not in names
    assert names["e3nn-materials-tutorial"]["download_info"].get("vcs_info", {}).get("requested_revision") == REPO_REF
    not_wheels = [n for n, i in names.items()
                  if n not in {"e3nn-materials-tutorial", *SDIST_OK} and not i["download_info"]["url"].endswith(".whl")]
    assert not not_wheels, f"built from source instead of a wheel: {not_wheels}"
    binary = sorted(n for n, i in names.items() if n not in {"e3nn-materials-tutorial", *SDIST_OK}
                    and not i["download_info"]["url"].endswith("-none-any.whl"))
    unexpected = set(binary) - COLAB_PREINSTALLED - NEW_BINARY_WHEELS
    assert not unexpected, f"new compiled dependencies (only pure-Python wheels expected): {sorted(unexpected)}"
    print(f"installed {len(names)} distributions; binary wheels: {binary}")

    imports = notebook_imports(NOTEBOOK_01)
    assert "from e3nn import o3" in imports and any("tutorial_utils" in x for x in imports)
    script = "\n".join([*imports, "import tutorial_utils", "print(tutorial_utils.__file__)"])
    where = run([str(python), "-c", script], work, colab_env, timeout=120).stdout.strip()
    assert "site-packages" in where, f"tutorial_utils imported from {where}, not from the installed package"
    print(f"Colab path: {time.perf_counter() - t0:.0f} s (torch venv {t_torch:.0f} s, setup cell "
          f"{t_setup:.0f} s); {len(imports)} import lines of notebook 01 ok")
