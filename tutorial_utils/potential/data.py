"""Frames of the ethanol data set: npz files -> :class:`FrameSet` -> ``Data`` lists, and splits.

Units: positions Å, energies eV, forces eV/Å.
"""

from __future__ import annotations

import json
import warnings
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch_geometric.data import Data

from ..graphs import atoms_to_data

__all__ = ["FrameSet", "frames_to_data", "load_frames", "split_indices"]


@dataclass
class FrameSet:
    """Frames of one molecule, as read from npz files by :func:`load_frames`."""

    positions: np.ndarray  # (F, N, 3) Å
    energy: np.ndarray  # (F,) eV, total energies
    forces: np.ndarray  # (F, N, 3) eV/Å
    numbers: np.ndarray  # (N,) atomic numbers, the same for every frame
    source: np.ndarray  # (F,) index of the file each frame came from
    metadata: list[dict] = field(default_factory=list)  # one dict per file

    def __len__(self) -> int:
        return int(self.energy.shape[0])

    def subset(self, indices: Sequence[int] | np.ndarray) -> FrameSet:
        """The frames ``indices`` (a copy)."""
        idx = np.asarray(indices, dtype=np.int64)
        return FrameSet(self.positions[idx], self.energy[idx], self.forces[idx], self.numbers.copy(),
                        self.source[idx], list(self.metadata))


def _read_npz(path: Path, required: Sequence[str]) -> tuple[dict[str, np.ndarray], dict]:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file; make the data with data/ethanol/generate.py "
                                "or fetch it with tutorial_utils.data.fetch") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable npz file ({type(exc).__name__}: {exc}); it is "
                         "truncated or corrupt: delete it and re-make or re-fetch it") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks the key(s) {missing}: a frame file needs {list(required)} "
                         f"(found {sorted(arrays)}); is it a file of this data set?")
    meta = {}
    if "metadata" in arrays:
        try:
            meta = json.loads(str(arrays.pop("metadata")))
        except json.JSONDecodeError:
            raise ValueError(f"{path}: the metadata entry is not valid JSON; the file is corrupt") from None
    units = meta.get("units", {})
    for key, want in (("energy", "eV"), ("forces", "eV/Angstrom"), ("positions", "Angstrom")):
        if key in units and units[key] != want:
            raise ValueError(f"{path}: {key} are in {units[key]}, expected {want}")
    return arrays, meta


def load_frames(paths: str | Path | Sequence[str | Path], drop_unconverged: bool = True,
                energy_key: str = "energy", forces_key: str = "forces") -> FrameSet:
    """Read one or more npz files of frames (parts or packed sets) and concatenate them.

    ``energy_key``/``forces_key`` choose the labels: ``"energy"``/``"forces"`` (DFT) or
    ``"energy_xtb"``/``"forces_xtb"`` (the GFN2-xTB labels stored beside them).

    Checks shapes, atomic numbers (the same molecule in every file) and finite values, and
    raises ``ValueError`` naming the file and what is wrong. Frames whose DFT did not converge
    (``converged`` False) are dropped with a warning.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    files = [Path(p) for p in paths]
    if not files:
        raise ValueError("load_frames got no files; pass a path or a list of paths to npz files")
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("positions", "energy", "forces", "source")}
    numbers: np.ndarray | None = None
    metas = []
    for k, path in enumerate(files):
        required = ("positions", energy_key, forces_key, "numbers")
        a, meta = _read_npz(path, required)
        pos, e, f, z = (np.asarray(a[key]) for key in required)
        n_frames = e.shape[0] if e.ndim == 1 else -1
        if e.ndim != 1 or pos.ndim != 3 or pos.shape[0] != n_frames or pos.shape[2] != 3 \
                or f.shape != pos.shape or z.shape != (pos.shape[1],):
            raise ValueError(f"{path}: inconsistent shapes positions {pos.shape}, energy {e.shape}, "
                             f"forces {f.shape}, numbers {z.shape}; expected (F, N, 3), (F,), (F, N, 3), (N,)")
        if numbers is None:
            numbers = z.astype(np.int64)
        elif not np.array_equal(numbers, z):
            raise ValueError(f"{path}: atomic numbers {z.tolist()} differ from the first file's "
                             f"{numbers.tolist()}; load one molecule at a time")
        keep = np.ones(n_frames, bool)
        if drop_unconverged and "converged" in a:
            keep = np.asarray(a["converged"], bool)
            if not keep.all():
                warnings.warn(f"{path}: dropping {int((~keep).sum())} frame(s) whose DFT did not converge",
                              stacklevel=2)
        bad = ~(np.isfinite(pos).all((1, 2)) & np.isfinite(e) & np.isfinite(f).all((1, 2)))
        if (bad & keep).any():
            raise ValueError(f"{path}: frame {int(np.flatnonzero(bad & keep)[0])} has non-finite values")
        cols["positions"].append(pos[keep].astype(np.float64))
        cols["energy"].append(e[keep].astype(np.float64))
        cols["forces"].append(f[keep].astype(np.float64))
        cols["source"].append(np.full(int(keep.sum()), k))
        metas.append({"file": path.name, **meta})
    assert numbers is not None  # at least one file was read
    return FrameSet(numbers=numbers, metadata=metas, **{k: np.concatenate(v) for k, v in cols.items()})


def frames_to_data(frames: FrameSet, r_max: float, indices: Sequence[int] | None = None) -> list[Data]:
    """One ``Data`` per frame (graph within ``r_max`` Å) with ``energy`` (1,) eV (float64)
    and ``forces`` (N, 3) eV/Å in torch's default dtype."""
    from ase import Atoms

    dtype = torch.get_default_dtype()
    indices = range(len(frames)) if indices is None else indices
    out = []
    for k in indices:
        atoms = Atoms(numbers=frames.numbers, positions=frames.positions[k])
        out.append(atoms_to_data(
            atoms, r_max,
            energy=torch.tensor([frames.energy[k]], dtype=torch.float64),
            forces=torch.as_tensor(frames.forces[k]).to(dtype),
        ))
    return out


def split_indices(n: int, n_train: int, n_valid: int, n_test: int | None = None, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random disjoint train / valid / test indices of ``n`` frames (``n_test=None``: the rest).

    The same ``seed`` always gives the same split; a smaller ``n_train`` with the same seed
    gives a subset of a larger one's training frames (nested learning curves).
    """
    n_test = n - n_train - n_valid if n_test is None else n_test
    if min(n_train, n_valid, n_test) < 0 or n_train + n_valid + n_test > n:
        raise ValueError(f"cannot split {n} frames into {n_train} train + {n_valid} valid + {n_test} test")
    perm = np.random.default_rng(seed).permutation(n)
    valid = perm[:n_valid]
    test = perm[n_valid:n_valid + n_test]
    train = perm[n_valid + n_test:n_valid + n_test + n_train]
    return train, valid, test
