"""Data sets: the registry, checksummed downloads into a cache, and loaders.

``python -m tutorial_utils.data fetch --all`` downloads every registered file, e.g.
before an offline workshop. See :mod:`tutorial_utils.data.registry` for the
``TUTORIAL_DATA_DIR`` and ``TUTORIAL_DATA_MIRROR`` variables.
"""

from .registry import REGISTRY, DataFile, cache_dir, fetch, fetch_all, sha256sum

__all__ = ["REGISTRY", "DataFile", "cache_dir", "fetch", "fetch_all", "sha256sum"]
