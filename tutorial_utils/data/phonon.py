"""Loader for the phonon density-of-states data set (``phonon_dos`` in the registry).

The CSV has columns ``mp_id``, ``structure`` (the text of a Python dict as written by
``ase.Atoms.todict()``: numbers, positions [Å], cell [Å], pbc), ``phfreq`` (51
frequencies, cm^-1) and ``phdos`` (the DoS on that grid, max-normalised). The text
fields are parsed with :func:`ast.literal_eval` (literals only, never code) and every
row is validated; a bad row raises an error that names its line and ``mp_id``.
"""

from __future__ import annotations

import ast
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["PhononRecord", "load_alloy_reference", "load_phonon_dos"]

_COLUMNS = ("mp_id", "structure", "phfreq", "phdos")


@dataclass
class PhononRecord:
    """One crystal: its id, structure (``ase.Atoms``), frequency grid (cm^-1) and DoS."""

    mp_id: str
    atoms: object
    freq: np.ndarray
    dos: np.ndarray


class MalformedRowError(ValueError):
    """A row of the CSV could not be parsed or failed validation."""


def _literal(text: str, what: str):
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise ValueError(f"the {what} field is not a valid literal ({type(exc).__name__})") from None


def _parse_row(row: dict[str, str]):
    from ase import Atoms

    s = _literal(row["structure"], "structure")
    if not isinstance(s, dict) or not {"numbers", "positions", "cell"} <= s.keys():
        raise ValueError("structure must be a dict with keys numbers, positions, cell (and pbc)")
    numbers = np.asarray(s["numbers"], dtype=np.int64)
    positions = np.asarray(s["positions"], dtype=np.float64)
    cell = np.asarray(s["cell"], dtype=np.float64)
    pbc = np.asarray(s.get("pbc", [True, True, True]), dtype=bool)
    if numbers.ndim != 1 or numbers.size == 0:
        raise ValueError(f"numbers must be a non-empty list, got shape {numbers.shape}")
    if ((numbers < 1) | (numbers > 118)).any():
        raise ValueError(f"numbers holds a value that is not an element: {numbers.tolist()}")
    if positions.shape != (numbers.size, 3):
        raise ValueError(f"positions have shape {positions.shape}, expected ({numbers.size}, 3)")
    if cell.shape != (3, 3) or pbc.shape != (3,):
        raise ValueError(f"cell must be 3x3 and pbc 3 booleans, got {cell.shape} and {pbc.shape}")
    if not (np.isfinite(positions).all() and np.isfinite(cell).all()):
        raise ValueError("positions or cell contain non-finite values")
    if abs(np.linalg.det(cell)) < 1e-6:
        raise ValueError("the cell has zero volume")
    freq = np.asarray(_literal(row["phfreq"], "phfreq"), dtype=np.float64)
    dos = np.asarray(_literal(row["phdos"], "phdos"), dtype=np.float64)
    if freq.ndim != 1 or dos.shape != freq.shape or freq.size < 2:
        raise ValueError(f"phfreq and phdos must be equal-length lists, got {freq.shape} and {dos.shape}")
    if not (np.isfinite(dos).all() and np.isfinite(freq).all()):
        raise ValueError("phfreq or phdos contain non-finite values")
    return Atoms(numbers=numbers, positions=positions, cell=cell, pbc=pbc), freq, dos


def load_phonon_dos(path: str | Path | None = None, limit: int | None = None) -> list[PhononRecord]:
    """Read the phonon DoS CSV into records (fetched from the registry when ``path`` is None).

    Args:
        path: the CSV file; by default ``tutorial_utils.data.fetch("phonon_dos")``.
        limit: read only the first ``limit`` rows (quick mode).

    Raises:
        MalformedRowError: naming the line number and ``mp_id`` of a row that fails.
    """
    if path is None:
        from .registry import fetch

        path = fetch("phonon_dos")
    records: list[PhononRecord] = []
    csv.field_size_limit(1 << 24)
    with open(path, newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise MalformedRowError(
                f"{path}: missing column(s) {missing}; expected {list(_COLUMNS)}, found {reader.fieldnames}"
            )
        for row in reader:
            if limit is not None and len(records) >= limit:
                break
            line = reader.line_num
            mp_id = (row.get("mp_id") or "").strip() or "<no id>"
            if any(row.get(c) is None for c in _COLUMNS):
                raise MalformedRowError(f"{path}, line {line} ({mp_id}): the row has too few fields")
            try:
                atoms, freq, dos = _parse_row(row)
            except ValueError as exc:
                raise MalformedRowError(f"{path}, line {line} ({mp_id}): {exc}") from None
            records.append(PhononRecord(mp_id=mp_id, atoms=atoms, freq=freq, dos=dos))
    if not records:
        raise MalformedRowError(f"{path}: no data rows")
    return records


def load_alloy_reference(path: str | Path | None = None) -> tuple[str, np.ndarray, np.ndarray]:
    """The computed phonon DoS of the alloy Mg3Bi1.5Sb0.5 that the 2021 tutorial checked its
    prediction against (registry name ``chen2021_alloy``; one row, no structure).

    Returns the formula, the frequency grid (51,) in cm^-1 and the DoS (51,), max-normalised.
    """
    if path is None:
        from .registry import fetch

        path = fetch("chen2021_alloy")
    csv.field_size_limit(1 << 24)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if len(rows) != 1 or not {"formula", "phfreq", "phdos"} <= set(rows[0]):
        raise MalformedRowError(f"{path}: expected one row with columns formula, phfreq, phdos")
    row = rows[0]
    try:
        freq = np.asarray(_literal(row["phfreq"], "phfreq"), dtype=np.float64)
        dos = np.asarray(_literal(row["phdos"], "phdos"), dtype=np.float64)
    except ValueError as exc:
        raise MalformedRowError(f"{path}: {exc}") from None
    if freq.ndim != 1 or dos.shape != freq.shape or not np.isfinite(dos).all():
        raise MalformedRowError(f"{path}: phfreq and phdos must be finite equal-length lists")
    return row["formula"].strip(), freq, dos / dos.max()
