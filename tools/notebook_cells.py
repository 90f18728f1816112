"""The Colab badge address and the setup cell every notebook opens with, defined once from
``tutorial_utils/_meta.py``. The notebooks' text sources hold them verbatim; the tests and
``scripts/release_check.py`` check (and ``--update`` rewrites) them against these functions."""

from __future__ import annotations

from tutorial_utils._meta import REPO_REF, REPO_SLUG, REPO_URL

__all__ = ["badge_cell", "colab_url", "setup_cell"]


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
