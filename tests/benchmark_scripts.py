"""Import a script of ``benchmarks/`` (not a package) as a module, for the tests of its logic."""

from __future__ import annotations

import importlib.util
from types import ModuleType

from .notebook_files import ROOT


def load_benchmark(name: str) -> ModuleType:
    """The module ``benchmarks/<name>.py``, executed once per call (its ``main`` not run)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    assert spec and spec.loader, f"no benchmarks/{name}.py"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
