"""The environment files describe one verified set of versions, with no compiled PyG extension."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {"torch-scatter", "torch-cluster", "torch-sparse", "torch-spline-conv", "pyg-lib"}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def constraints() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[_norm(name)] = version
    return pins


def yaml_pip_pins(path: Path) -> dict[str, str]:
    """name==version lines of the pip section of a conda environment file; a local version
    label (Binder's ``torch==2.13.0+cpu``) is dropped: it names a build of that version."""
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"\s+- ([A-Za-z0-9_.\-]+)==([^\s#+]+)", line)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def test_constraints_pin_the_dependencies_and_no_compiled_pyg_extension():
    pins = constraints()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + project["optional-dependencies"]["test"]
    required = [re.split(r"[<>=!~ ;\[]", d)[0] for d in declared]
    missing = [r for r in required if _norm(r) not in pins]
    assert not missing, f"constraints.txt does not pin {missing}"
    assert pins["torch"] == "2.13.0"
    assert not FORBIDDEN & pins.keys()


@pytest.mark.parametrize("path", ["environment.yml", "binder/environment.yml"])
def test_conda_environments_use_the_same_pins(path):
    pins, env = constraints(), yaml_pip_pins(ROOT / path)
    assert env, f"{path} pins nothing"
    differ = {k: (v, pins.get(k)) for k, v in env.items() if k in pins and pins[k] != v}
    assert not differ, f"{path} disagrees with constraints.txt: {differ}"
    assert not FORBIDDEN & env.keys()
    for core in ("torch", "e3nn", "torch-geometric", "ase", "vesin"):
        assert core in env, f"{path} does not pin {core}"


def test_readme_commands_exist_and_ci_calls_the_test_command():
    readme = (ROOT / "README.md").read_text()
    makefile = (ROOT / "Makefile").read_text()
    for target in ("notebooks", "test"):
        assert f"make {target}" in readme
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile has no '{target}' target"
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_readme_and_package_docstring_list_every_module():
    """The README's package table and tutorial_utils' docstring name every public module
    (subpackages with their modules), so neither goes stale when a module is added."""
    import pkgutil

    import tutorial_utils

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## The package `tutorial_utils`"):readme.index("## Repository layout")]
    for info in pkgutil.iter_modules(tutorial_utils.__path__):
        if info.name.startswith("_"):
            continue
        assert f"`{info.name}`" in table, f"README's package table lacks tutorial_utils.{info.name}"
        assert f"tutorial_utils.{info.name}`" in tutorial_utils.__doc__, f"package docstring lacks {info.name}"
        if info.ispkg and info.name in ("nn", "potential", "phonons", "tensor_properties"):
            sub = __import__(f"tutorial_utils.{info.name}", fromlist=["_"])
            for child in pkgutil.iter_modules(sub.__path__):
                assert f"`{child.name}`" in table, f"README's package table lacks {info.name}.{child.name}"
