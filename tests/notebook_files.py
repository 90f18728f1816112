"""The notebooks the structure and output tests look at, and the scripts they test."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
CURRICULUM = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
TEMPLATE = NOTEBOOK_DIR / "templates" / "template.ipynb"
ALL = [*CURRICULUM, TEMPLATE]


def ids(paths):
    return [p.stem for p in paths]


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` as a module, loaded once and kept in ``sys.modules`` (where the
    scripts' own imports of each other, and dataclasses, look for it)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
