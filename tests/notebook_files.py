"""The notebooks the structure and output tests look at."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
CURRICULUM = sorted(NOTEBOOK_DIR.glob("[0-9][0-9]_*.ipynb"))
TEMPLATE = NOTEBOOK_DIR / "templates" / "template.ipynb"
ALL = [*CURRICULUM, TEMPLATE]


def ids(paths):
    return [p.stem for p in paths]
