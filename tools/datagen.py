"""File helpers shared by the project's data generators (``data/ethanol/generate.py``,
``data/water/generate.py``) and the benchmarks' result files: atomic npz writes with a JSON
``metadata`` entry and atomic JSON writes, reading npz back without pickle, part locks
(``filelock``) so that two labelling runs never work on the same part, the manifest of a data
folder, and the provenance stamps (time, package versions) every file carries. Authoring-only:
not part of the installed package."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from tutorial_utils.data.registry import sha256sum

__all__ = ["claim", "load_npz", "manifest_path", "now_utc", "register_file", "save_npz", "sha256sum", "versions",
           "write_json_atomically", "write_manifest"]


def write_json_atomically(target: Path, data: dict, indent: int | None = 1, sort_keys: bool = True) -> None:
    """Write ``data`` as JSON to ``target`` through a uniquely named temporary file in the same
    folder (created if missing), so that two writers never share a temporary file and a reader
    never sees half a file (results written as each run of a long benchmark finishes)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    with os.fdopen(fd, "w") as fh:
        fh.write(json.dumps(data, indent=indent, sort_keys=sort_keys) + "\n")
    os.replace(tmp, target)


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


def claim(path: Path) -> FileLock | None:
    """Take the lock ``<path>.lock`` so that two labelling runs never work on the same part.

    Returns the held lock (call ``release()`` when the part is written), or None when another
    process holds it. The operating system drops the lock of a process that died, so a
    stale lock file never blocks a later run.
    """
    lock = FileLock(path.with_name(path.name + ".lock"))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        return None
    return lock


def manifest_path(out: Path, home: Path, set_name: str) -> Path:
    """Where a generator writes the manifest of ``out``: the registry's manifest
    ``tutorial_utils/data/manifests/<set_name>.json`` when ``out`` is the data set's own folder
    ``home`` (so the package carries every sha256), else ``out/manifest.json`` (a scratch run)."""
    if out.resolve() == home.resolve():
        return Path(__file__).resolve().parents[1] / "tutorial_utils" / "data" / "manifests" / f"{set_name}.json"
    return out / "manifest.json"


def write_manifest(out: Path, count_key: str, describe: Callable[[dict], dict], target: Path | None = None,
                   **fields) -> dict:
    """Write the manifest of folder ``out`` atomically to ``target`` (default
    ``out/manifest.json``) and return it: for every npz in ``out`` its item count (under
    ``count_key``: the length of its ``energy``, else of its ``positions``), size, sha256 and
    ``describe(metadata)``; for every other data file (``*.pt`` weights, ``*.json`` results)
    its size and sha256;
    ``fields`` and the time are added at the top level. A file that cannot be read is listed
    with its error, not skipped."""
    files = {}
    for p in sorted(out.glob("*.pt")):
        files[p.name] = {"bytes": p.stat().st_size, "sha256": sha256sum(p), "kind": "trained weights (state_dict)"}
    for p in sorted(out.glob("*.json")):  # results of scripts that notebooks load (benchmark studies)
        if p.name != "manifest.json":
            files[p.name] = {"bytes": p.stat().st_size, "sha256": sha256sum(p), "kind": "results (JSON)"}
    for p in sorted(out.glob("*.npz")):
        try:
            meta, arr = load_npz(p)
        except Exception as exc:  # a corrupt file is reported, not hidden
            files[p.name] = {"error": str(exc)}
            continue
        n = len(arr["energy"]) if "energy" in arr else len(arr["positions"])
        files[p.name] = {count_key: int(n), "bytes": p.stat().st_size, "sha256": sha256sum(p), **describe(meta)}
    manifest = dict(generated_utc=now_utc(), files=files, **fields)
    write_json_atomically(target or out / "manifest.json", manifest)
    return manifest


def register_file(manifest: Path, path: Path, **fields: object) -> None:
    """Record ``path``'s size and sha256 (and ``fields``) in the manifest ``manifest``, in place
    (for a file made after the manifest, such as trained weights)."""
    data = json.loads(manifest.read_text())
    data["files"][path.name] = {"bytes": path.stat().st_size, "sha256": sha256sum(path), **fields}
    write_json_atomically(manifest, data)
