"""File helpers shared by the project's data generators (``data/ethanol/generate.py``,
``data/water/generate.py``): atomic npz writes with a JSON ``metadata`` entry, reading them
back without pickle, lock files so that two labelling runs never work on the same part, and the
provenance stamps (time, package versions) every file carries."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from .registry import sha256sum

__all__ = ["claim", "load_npz", "now_utc", "save_npz", "sha256sum", "versions", "write_manifest"]


def save_npz(path: Path, metadata: dict, **arrays: np.ndarray) -> None:
    """Write an npz atomically (temporary file, then rename): a stopped run never leaves a
    half-written file behind. ``metadata`` is stored as a JSON string under ``metadata``."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        np.savez_compressed(fh, metadata=np.array(json.dumps(metadata, sort_keys=True)), **arrays)
    os.replace(tmp, path)


def load_npz(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    """(metadata, arrays) of a file written by :func:`save_npz`; never unpickles."""
    with np.load(path, allow_pickle=False) as f:
        arrays = {k: f[k] for k in f.files}
    return json.loads(str(arrays.pop("metadata"))), arrays


def now_utc() -> str:
    """The time now, UTC, as ``YYYY-MM-DDTHH:MM:SSZ``."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def versions(packages: Sequence[str] = ("ase", "tblite", "pyscf")) -> dict[str, str]:
    """Versions of Python, numpy and those of ``packages`` that are installed."""
    out = {"python": sys.version.split()[0], "numpy": np.__version__}
    for name in packages:
        try:
            mod = __import__(name)
            out[name] = getattr(mod, "__version__", "unknown")
        except ImportError:
            pass
    return out


def claim(path: Path) -> bool:
    """Take the lock file ``<path>.lock`` (holding our process id) so that two labelling runs
    never work on the same part; a lock left by a process that no longer runs is taken over.
    Returns False when a live process holds it."""
    lock = path.with_name(path.name + ".lock")
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            try:
                os.kill(int(lock.read_text().strip() or 0), 0)
                return False  # its owner is alive
            except (ProcessLookupError, ValueError):
                lock.unlink(missing_ok=True)  # stale: try again
                continue
            except PermissionError:
                return False
        with os.fdopen(fd, "w") as fh:
            fh.write(str(os.getpid()))
        return True
    return False


def write_manifest(out: Path, count_key: str, describe: Callable[[dict], dict], **fields) -> dict:
    """Write ``out/manifest.json`` atomically and return it: for every npz in ``out`` its item
    count (under ``count_key``: the length of its ``energy``, else of its ``positions``), size,
    sha256 and ``describe(metadata)``; ``fields`` and the time are added at the top level. A file
    that cannot be read is listed with its error, not skipped."""
    files = {}
    for p in sorted(out.glob("*.npz")):
        try:
            meta, arr = load_npz(p)
        except Exception as exc:  # a corrupt file is reported, not hidden
            files[p.name] = {"error": str(exc)}
            continue
        n = len(arr["energy"]) if "energy" in arr else len(arr["positions"])
        files[p.name] = {count_key: int(n), "bytes": p.stat().st_size, "sha256": sha256sum(p), **describe(meta)}
    manifest = dict(generated_utc=now_utc(), files=files, **fields)
    tmp = out / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, out / "manifest.json")
    return manifest
