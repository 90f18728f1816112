"""The Colab badge address and the setup cell every notebook opens with, defined once from
``tutorial_utils/_meta.py``. The notebooks' text sources hold them verbatim; the tests and
``scripts/release_check.py`` check (and ``--update`` rewrites) them against these functions."""

from __future__ import annotations

from tutorial_utils._meta import REPO_REF, REPO_SLUG, REPO_URL

__all__ = ["GPU_NOTE", "badge_cell", "colab_url", "setup_cell"]

#: The line under the badge: how to get a GPU on Colab, and what the setup cell installs there.
GPU_NOTE = ("*On Colab, choose a GPU first: Runtime → Change runtime type → a GPU accelerator.\n"
            "The setup cell keeps Colab's own torch and installs only what is missing.*")


def colab_url(notebook_path: str) -> str:
    """The "Open in Colab" address of a notebook given by its path in the repository."""
    return f"https://colab.research.google.com/github/{REPO_SLUG}/blob/{REPO_REF}/{notebook_path}"


def badge_cell(notebook_path: str, title: str) -> str:
    """Markdown for the first cell: the Colab badge, how to pick a GPU there, then the title."""
    badge = "https://colab.research.google.com/assets/colab-badge.svg"
    return f"[![Open In Colab]({badge})]({colab_url(notebook_path)})\n\n{GPU_NOTE}\n\n# {title}"


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
