"""Where the curriculum lives: used by the notebooks' Colab badges and setup cells.

Change ``REPO_SLUG`` and ``REPO_REF`` here when the repository moves or a release is
tagged; ``tests/test_notebook_structure.py`` checks that every notebook agrees.
"""

REPO_SLUG = "e3nn-materials/e3nn-materials-tutorial"
REPO_REF = "v0.1.0"
REPO_URL = f"https://github.com/{REPO_SLUG}"
