"""Import a script of ``benchmarks/`` or ``data/`` (not packages) as a module, for the tests of its logic."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from .notebook_files import ROOT


def load_script(relative_path: str) -> ModuleType:
    """The module of the script at ``relative_path`` under the repository root (e.g.
    ``"data/ethanol/train_potential.py"``), executed once per call (its ``main`` not run)."""
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader and path.is_file(), f"no {relative_path}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_benchmark(name: str) -> ModuleType:
    """The module ``benchmarks/<name>.py``, executed once per call (its ``main`` not run)."""
    return load_script(f"benchmarks/{name}.py")
