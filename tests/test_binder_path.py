"""The Binder path: binder/environment.yml (conda format) and binder/postBuild build the
environment the notebooks need. The config asks for PyTorch's CPU-only build (its CPU
wheel index, ``torch==X+cpu``), so Binder does not install CUDA libraries it cannot use;
that index is not reachable here, so its use is checked in the config, and the slow test
resolves everything else as Binder would. Without conda: the conda part must be only Python
itself and tools, the pip part is installed with pip into a clean venv, postBuild runs,
``pip check`` finds the set consistent, every package pinned in constraints.txt has its pinned
version (the same environment as CI), and every module of the package imports. Slow (1-3 min):
deselect with ``-m "not slow"``; CI runs it."""

from __future__ import annotations

import re
import time
import tomllib
from pathlib import Path

import pytest

from .venv_tools import ROOT, clean_env, installed, make_venv, pip_install, python_version, run

BINDER = ROOT / "binder"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
# conda packages that are not Python libraries: pip comes with every venv, make runs commands
CONDA_TOOLS = {"pip", "make"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def conda_environment(path: Path) -> tuple[list[str], list[str]]:
    """(conda dependencies, pip requirements) of a conda environment file: the items of its
    ``dependencies:`` list, and those of the ``pip:`` list inside it."""
    conda, pip = [], []
    section = None
    for raw in path.read_text().splitlines():
        line = raw.split("#")[0].rstrip()
        if not line.strip():
            continue
        if not line.startswith(" "):
            section = line.split(":")[0]
            continue
        m = re.match(r"(\s*)- (.+)", line)
        if section != "dependencies" or not m:
            continue
        indent, item = len(m.group(1)), m.group(2).strip()
        if item == "pip:":
            continue
        (pip if indent > 2 else conda).append(item)
    return conda, pip


def pip_options(pip: list[str]) -> tuple[list[str], list[str]]:
    """(option lines such as ``--extra-index-url URL``, requirements) of a pip list."""
    return [r for r in pip if r.startswith("-")], [r for r in pip if not r.startswith("-")]


def test_binder_asks_for_the_cpu_only_torch_build():
    _, pip = conda_environment(BINDER / "environment.yml")
    options, requirements = pip_options(pip)
    assert f"--extra-index-url {CPU_INDEX}" in options, \
        f"binder/environment.yml must add PyTorch's CPU wheel index ({CPU_INDEX}) for torch"
    assert not [o for o in options if o.startswith(("--index-url", "-i "))], \
        "replacing the default index would hide every other package; add the CPU index with --extra-index-url"
    pinned = next(line.split("==")[1] for line in (ROOT / "constraints.txt").read_text().splitlines()
                  if line.startswith("torch=="))
    assert f"torch=={pinned}+cpu" in requirements, \
        f"binder/environment.yml must ask for torch=={pinned}+cpu (the CPU build of the pinned version)"


def test_binder_environment_translates_to_pip():
    conda, pip = conda_environment(BINDER / "environment.yml")
    asked = [c for c in conda if c.startswith("python")]
    assert f"python={python_version()}" in conda, \
        f"binder/environment.yml asks for {asked}; this test runs Python {python_version()}"
    others = {re.split(r"[=<> ]", c)[0] for c in conda if not c.startswith("python")}
    assert others <= CONDA_TOOLS, (f"conda packages with no pip translation here: {sorted(others - CONDA_TOOLS)} "
                                   "(put Python packages in the pip: list)")
    _, pip = pip_options(pip)
    assert all("==" in r for r in pip), f"unpinned pip requirements: {[r for r in pip if '==' not in r]}"
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = {_norm(r.split("==")[0]) for r in pip}
    missing = [d for d in declared if _norm(re.split(r"[<>=!~ ;\[]", d)[0]) not in pinned]
    assert not missing, f"binder/environment.yml does not install the package's dependencies {missing}"
    assert "pip install" in (BINDER / "postBuild").read_text()


@pytest.mark.slow
def test_binder_environment_resolves_with_pip_and_the_package_imports(tmp_path):
    t0 = time.perf_counter()
    _, pip = conda_environment(BINDER / "environment.yml")
    # PyTorch's CPU index is not reachable here: take the same version from the default
    # source (a CPU wheel on this machine); everything else resolves as on Binder
    _, pip = pip_options(pip)
    pip = [r.split("+")[0] if r.startswith("torch==") else r for r in pip]
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("\n".join(pip) + "\n")
    env = clean_env(TUTORIAL_DATA_DIR=str(tmp_path / "data"), TUTORIAL_PROGRESS="0", MPLBACKEND="Agg")
    python = make_venv(tmp_path / "venv")
    pip_install(python, "-r", str(requirements), cwd=tmp_path, env=env, timeout=480)
    t_install = time.perf_counter() - t0
    # Binder runs postBuild from the repository root with the environment's python first on PATH
    env_post = dict(env, PATH=f"{python.parent}:{env['PATH']}", VIRTUAL_ENV=str(python.parent.parent))
    run(["bash", str(BINDER / "postBuild")], ROOT, env_post, timeout=240)
    run([str(python), "-m", "pip", "check"], tmp_path, env, timeout=120)
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if line.split("#")[0].strip():
            name, version = line.split("#")[0].strip().split("==")
            pins[_norm(name)] = version
    have = {_norm(k): v for k, v in installed(python, tmp_path, env).items()}
    differ = {k: (v, pins[k]) for k, v in have.items() if k in pins and v.split("+")[0] != pins[k]}
    assert not differ, f"Binder's environment differs from constraints.txt (installed, pinned): {differ}"
    assert have.get("e3nn-materials-tutorial"), "postBuild did not install the package"
    script = (
        "import importlib, pkgutil, torch, tutorial_utils\n"
        "names = [m.name for m in pkgutil.walk_packages(tutorial_utils.__path__, 'tutorial_utils.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "import e3nn, torch_geometric, ase, pymatgen.core, vesin, plotly, matplotlib, pooch, nbval, jupyterlab\n"
        "print(torch.__version__, len(names))\n"
    )
    out = run([str(python), "-c", script], tmp_path, env, timeout=180).stdout.split()
    assert out[0].startswith("2.13.0"), f"torch {out[0]}"
    assert int(out[1]) >= 10, "tutorial_utils has fewer modules than expected"
    print(f"Binder path: pip install {t_install:.0f} s, all {time.perf_counter() - t0:.0f} s")
