"""The two cells every notebook opens with, defined once: the title with its Colab badge,
and the idempotent setup cell. The notebooks' text sources (notebooks/src/) hold them
verbatim; tests check them against these functions."""

from __future__ import annotations

from ._meta import REPO_REF, REPO_SLUG, REPO_URL

__all__ = ["badge_cell", "colab_url", "setup_cell", "show_source"]


def colab_url(notebook_path: str) -> str:
    """The "Open in Colab" address of a notebook given by its path in the repository."""
    return f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{REPO_REF}/{notebook_path}"


def badge_cell(notebook_path: str, title: str) -> str:
    """Markdown for the first cell: the Colab badge, then the title."""
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"[![Open In Colab]({badge})]({colab_url(notebook_path)})\n\n# {title}"


def setup_cell(seed: int = 0) -> str:
    """Source of the setup cell: installs the package on Colab (pinned), then seeds and
    picks the device. Elsewhere (local, Binder, CI) it installs nothing."""
    return f'''# Setup: on Colab, install the tutorial package (pinned); elsewhere nothing is installed.
import importlib.util
import os
import subprocess
import sys

if ("google.colab" in sys.modules or os.environ.get("TUTORIAL_FORCE_COLAB") == "1") and (
    importlib.util.find_spec("tutorial_utils") is None
):
    repo = os.environ.get("TUTORIAL_REPO_URL", "git+{REPO_URL}@{REPO_REF}")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", repo], check=True)

from tutorial_utils import setup

device = setup(seed={seed})'''


def show_source(obj) -> None:
    """Display the source code of a function or class from ``tutorial_utils`` in a notebook,
    so the teaching code stays visible where it is explained (one source, no copy)."""
    import inspect

    source = inspect.getsource(obj)
    try:
        from IPython.display import Markdown, display

        display(Markdown(f"```python\n{source}```"))
    except ImportError:  # plain Python: print it
        print(source)
