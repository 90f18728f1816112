"""The dielectric and elastic tensor data sets (``dielectric_constant``, ``elastic_tensor_2015``).

Both files are pandas "split" JSON (``columns``, ``data``) as distributed by matminer, gzipped.
The tensors are text (``"[[3.44, 0.0, ...], ...]"``, parsed with :func:`json.loads` or
:func:`ast.literal_eval`: literals only, never code) or numpy-style dicts
(``{"@module": "numpy", "@class": "array", "data": [[...]]}``); the structures are pymatgen
dicts. Every row is validated, and a bad row raises :class:`MalformedRowError` naming its
``material_id``.

Each crystal is brought to its idealized primitive standard cell in the standard frame
(:func:`~tutorial_utils.tensor_properties.crystal.standardize`), and its tensor is rotated
into that frame, so that every record obeys its point group to round-off in the structure and
to the DFT's precision in the tensor (``neumann_residual``).

Units: the dielectric tensor is dimensionless (relative permittivity); elastic tensors in GPa,
as 3x3x3x3 Cartesian tensors ``C_ijkl`` (:func:`voigt_to_cartesian` converts the 6x6 Voigt
matrices of the file).
"""

from __future__ import annotations

import ast
import gzip
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .crystal import neumann_residual, rotate_tensor, standardize

__all__ = ["VOIGT_PAIRS", "MalformedRowError", "TensorRecord", "cartesian_to_voigt", "load_dielectric",
           "load_elastic", "parse_tensor", "read_split_json", "voigt_to_cartesian"]

#: Voigt index -> Cartesian pair: 1=xx, 2=yy, 3=zz, 4=yz, 5=xz, 6=xy (0-based here)
VOIGT_PAIRS = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


class MalformedRowError(ValueError):
    """A row of a tensor data file could not be parsed or failed validation."""


@dataclass
class TensorRecord:
    """One crystal and its property tensor, both in the crystal's standard frame.

    Attributes:
        material_id: Materials Project id, e.g. ``"mp-441"``.
        formula: reduced formula.
        structure: idealized primitive standard cell (pymatgen ``Structure``), Å.
        tensor: (3, 3) dielectric tensor or (3, 3, 3, 3) elastic tensor in GPa.
        crystal_system, point_group, space_group: from spglib (``symprec`` of the loader).
        operations: the point group as Cartesian matrices (|G|, 3, 3) in the standard frame.
        neumann_residual: ``max |T - <g.T>_G| / scale`` of the DFT tensor (scale: the mean
            eigenvalue of a dielectric tensor, the largest |C_ijkl| of an elastic one).
        band_gap: the DFT band gap in eV (dielectric data; NaN otherwise).
    """

    material_id: str
    formula: str
    structure: Any
    tensor: np.ndarray
    crystal_system: str
    point_group: str
    space_group: int
    operations: np.ndarray
    neumann_residual: float
    band_gap: float = math.nan

    @property
    def num_sites(self) -> int:
        return len(self.structure)


def _literal(text: str) -> Any:
    """Parse a JSON or Python literal (never code)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(f"is not a JSON or Python literal ({type(exc).__name__})") from None


def parse_tensor(value: Any, shape: tuple[int, ...], what: str = "tensor") -> np.ndarray:
    """A float64 array of ``shape`` from text (JSON or a Python literal), a nested list, or a
    numpy-style dict ``{"@module": "numpy", "@class": "array", "data": ...}``.

    Raises ``ValueError`` saying what was wrong: not a literal, not numbers, the wrong shape
    (e.g. a 2x3 matrix where a 3x3 tensor is needed), or a non-finite entry.
    """
    if isinstance(value, str):
        try:
            value = _literal(value)
        except ValueError as exc:
            raise ValueError(f"the {what} {exc}") from None
    if isinstance(value, dict):
        if value.get("@class") != "array" or "data" not in value:
            raise ValueError(f"the {what} is a dict without array data (keys {sorted(value)})")
        value = value["data"]
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"the {what} is not an array of numbers: {str(value)[:80]}") from None
    if arr.shape != tuple(shape):
        expected = "x".join(str(s) for s in shape)
        raise ValueError(f"the {what} has shape {arr.shape}, expected {expected}")
    if not np.isfinite(arr).all():
        raise ValueError(f"the {what} holds non-finite values")
    return arr


def voigt_to_cartesian(C: np.ndarray) -> np.ndarray:
    """A 6x6 Voigt stiffness matrix (GPa) -> the 3x3x3x3 tensor ``C_ijkl`` (no factors of 2:
    ``C_ijkl = C_IJ`` with I = (ij), J = (kl) in Voigt order xx, yy, zz, yz, xz, xy)."""
    C = np.asarray(C, dtype=np.float64)
    if C.shape[-2:] != (6, 6):
        raise ValueError(f"a Voigt stiffness matrix needs shape (..., 6, 6), got {C.shape}")
    out = np.zeros((*C.shape[:-2], 3, 3, 3, 3))
    for a, (i, j) in enumerate(VOIGT_PAIRS):
        for b, (k, l) in enumerate(VOIGT_PAIRS):
            for p, q in {(i, j), (j, i)}:
                for r, s in {(k, l), (l, k)}:
                    out[..., p, q, r, s] = C[..., a, b]
    return out


def cartesian_to_voigt(C: np.ndarray) -> np.ndarray:
    """The inverse of :func:`voigt_to_cartesian`: (..., 3, 3, 3, 3) -> (..., 6, 6)."""
    C = np.asarray(C, dtype=np.float64)
    if C.shape[-4:] != (3, 3, 3, 3):
        raise ValueError(f"an elastic tensor needs shape (..., 3, 3, 3, 3), got {C.shape}")
    idx = np.array(VOIGT_PAIRS)
    return C[..., idx[:, 0][:, None], idx[:, 1][:, None], idx[:, 0][None, :], idx[:, 1][None, :]]


def read_split_json(path: str | Path, required: Sequence[str]) -> list[dict[str, Any]]:
    """Rows (as dicts) of a gzipped (or plain) pandas "split" JSON file with ``required`` columns."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8") as fh:
            table = json.load(fh)
    except (OSError, EOFError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedRowError(f"{path}: not a readable (gzipped) JSON file ({exc}); fetch it again") from None
    if not isinstance(table, dict) or not {"columns", "data"} <= table.keys():
        raise MalformedRowError(f"{path}: expected pandas 'split' JSON with keys columns and data")
    columns = list(table["columns"])
    missing = [c for c in required if c not in columns]
    if missing:
        raise MalformedRowError(f"{path}: missing column(s) {missing}; found {columns}")
    rows = []
    for k, values in enumerate(table["data"]):
        if len(values) != len(columns):
            raise MalformedRowError(f"{path}, row {k}: {len(values)} fields for {len(columns)} columns")
        rows.append(dict(zip(columns, values)))
    if not rows:
        raise MalformedRowError(f"{path}: no data rows")
    return rows


def _structure(row: dict[str, Any]):
    from pymatgen.core import Structure

    s = row["structure"]
    if isinstance(s, str):
        s = _literal(s)
    if not isinstance(s, dict) or "lattice" not in s or "sites" not in s:
        raise ValueError("the structure is not a pymatgen Structure dict (keys lattice, sites)")
    try:
        structure = Structure.from_dict(s)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise ValueError(f"the structure dict could not be read by pymatgen ({type(exc).__name__}: {exc})") from None
    if len(structure) == 0 or abs(structure.volume) < 1e-6:
        raise ValueError("the structure has no atoms or no volume")
    return structure


def _records(rows: list[dict[str, Any]], path: Path, column: str, shape: tuple[int, ...], symprec: float,
             max_sites: int | None) -> list[TensorRecord]:
    records = []
    for k, row in enumerate(rows):
        material_id = str(row.get("material_id") or f"<row {k}>")
        try:
            structure = _structure(row)
            if max_sites is not None and len(structure) > max_sites:
                continue
            T = parse_tensor(row[column], (3, 3) if shape == (3, 3) else (6, 6), what=column)
            if shape == (3, 3):
                asym = float(np.abs(T - T.T).max())
                if asym > 0.05 * max(float(np.abs(T).max()), 1.0):
                    raise ValueError(f"the {column} tensor is not symmetric (|T - T^T| up to {asym:.3g})")
                T = (T + T.T) / 2  # the antisymmetric part is numerical noise (no magnetic field)
                scale = float(np.trace(T)) / 3
            else:
                if float(np.abs(T - T.T).max()) > 0.05 * max(float(np.abs(T).max()), 1.0):
                    raise ValueError(f"the {column} Voigt matrix is not symmetric")
                T = voigt_to_cartesian((T + T.T) / 2)
                scale = float(np.abs(T).max())
            std = standardize(structure, symprec=symprec)
            T = rotate_tensor(T, std.rotation)
        except ValueError as exc:
            raise MalformedRowError(f"{path}, row {k} ({material_id}): {exc}") from None
        gap = row.get("band_gap")
        records.append(TensorRecord(
            material_id=material_id, formula=structure.composition.reduced_formula, structure=std.structure,
            tensor=T, crystal_system=std.crystal_system, point_group=std.point_group,
            space_group=std.space_group, operations=std.operations,
            neumann_residual=neumann_residual(T, std.operations) / max(scale, 1e-12),
            band_gap=float(gap) if isinstance(gap, (int, float)) else math.nan))
    return records


def _select(rows: list[dict[str, Any]], limit: int | None, seed: int) -> list[dict[str, Any]]:
    if limit is None or limit >= len(rows):
        return rows
    keep = np.sort(np.random.default_rng(seed).permutation(len(rows))[:limit])
    return [rows[k] for k in keep]


def load_dielectric(path: str | Path | None = None, limit: int | None = None, symprec: float = 0.01,
                    seed: int = 0) -> list[TensorRecord]:
    """The electronic (high-frequency) dielectric tensors ``eps_inf`` (3x3, symmetric) of the
    ``dielectric_constant`` set, fetched from the registry when ``path`` is None.

    ``limit``: keep a random subset of that many crystals (drawn with ``seed``; quick mode).
    Raises :class:`MalformedRowError` naming the ``material_id`` of a bad row.
    """
    if path is None:
        from ..data import fetch

        path = fetch("dielectric_constant")
    path = Path(path)
    rows = _select(read_split_json(path, ("material_id", "structure", "e_electronic")), limit, seed)
    return _records(rows, path, "e_electronic", (3, 3), symprec, None)


def load_elastic(path: str | Path | None = None, limit: int | None = None, max_sites: int | None = None,
                 symprec: float = 0.01, seed: int = 0) -> list[TensorRecord]:
    """The elastic tensors (GPa, as 3x3x3x3 ``C_ijkl``) of the ``elastic_tensor_2015`` set,
    fetched from the registry when ``path`` is None; crystals with more than ``max_sites``
    atoms in the file's cell are skipped, ``limit`` keeps a random subset (before that cut)."""
    if path is None:
        from ..data import fetch

        path = fetch("elastic_tensor_2015")
    path = Path(path)
    rows = _select(read_split_json(path, ("material_id", "structure", "elastic_tensor")), limit, seed)
    return _records(rows, path, "elastic_tensor", (3, 3, 3, 3), symprec, max_sites)
