"""Each stored notebook matches what its builder (scripts/notebooks/build_NN.py) writes:
the same cells, sources and tags. A hand edit of a notebook, or a builder changed without
re-running ``scripts/run_notebooks.py --store NN``, fails here."""

import importlib.util
import sys

import nbformat
import pytest

from .notebook_files import CURRICULUM, ROOT, ids

BUILDERS = ROOT / "scripts" / "notebooks"


def build(number: str) -> nbformat.NotebookNode:
    sys.path.insert(0, str(BUILDERS))
    try:
        spec = importlib.util.spec_from_file_location(f"build_{number}", BUILDERS / f"build_{number}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)  # collects the cells; writing happens only under __main__
    finally:
        sys.path.remove(str(BUILDERS))
    return module.nb.notebook()


@pytest.mark.parametrize("path", CURRICULUM, ids=ids(CURRICULUM))
def test_stored_notebook_matches_its_builder(path):
    number = path.name[:2]
    assert (BUILDERS / f"build_{number}.py").is_file(), f"{path.name} has no builder build_{number}.py"
    built, stored = build(number), nbformat.read(path, as_version=4)
    assert len(built.cells) == len(stored.cells), f"{path.name}: builder has {len(built.cells)} cells"
    for k, (b, s) in enumerate(zip(built.cells, stored.cells)):
        assert (b.cell_type, b.source) == (s.cell_type, s.source), \
            f"{path.name} cell {k} differs from its builder: rebuild and re-store the notebook"
        assert b.metadata.get("tags", []) == s.metadata.get("tags", []), f"{path.name} cell {k}: tags differ"
