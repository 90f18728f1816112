"""Alloys as virtual crystals for the phonon DoS network: a mixed site carries the fractions of
its elements (and their mean mass), and the cell and positions are interpolated between the
end members (Vegard's law), as the 2021 e3nn phonon tutorial did for Mg3(Sb1-xBix)2.

Units: Å. Atomic numbers are plain ints.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from ase import Atoms

from .features import SiteSpecies

__all__ = ["substitute", "vegard_alloy"]


def substitute(atoms: Atoms, replace: Mapping[int, int], cell: np.ndarray | None = None) -> Atoms:
    """A copy of ``atoms`` with elements replaced (``{51: 83}``: every Sb becomes Bi) and, if
    ``cell`` (3, 3) Å is given, that cell with the fractional coordinates kept."""
    new = atoms.copy()
    numbers = new.get_atomic_numbers()
    missing = [z for z in replace if z not in set(numbers.tolist())]
    if missing:
        raise ValueError(f"the structure holds no atom with atomic number(s) {missing}; it has "
                         f"{sorted(set(numbers.tolist()))}")
    new.set_atomic_numbers([replace.get(int(z), int(z)) for z in numbers])
    if cell is not None:
        cell = np.asarray(cell, dtype=float)
        if cell.shape != (3, 3) or abs(np.linalg.det(cell)) < 1e-6:
            raise ValueError(f"cell must be a non-degenerate 3x3 matrix (Å), got shape {cell.shape}")
        new.set_cell(cell, scale_atoms=True)
    return new


def vegard_alloy(end_a: Atoms, end_b: Atoms, x: float) -> tuple[Atoms, list[SiteSpecies]]:
    """The virtual crystal (1 - x) A + x B of two end members with the same sites in the same order.

    Cell vectors and fractional coordinates are interpolated linearly in ``x`` (Vegard's law);
    a site whose element differs between A and B gets ``{Z_A: 1 - x, Z_B: x}``, the others keep
    their element. Returns the structure (its atomic numbers are A's, only its geometry is used)
    and the site compositions for :func:`~tutorial_utils.phonons.crystal_to_data`.
    """
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"the fraction x must lie in [0, 1], got {x}")
    if len(end_a) != len(end_b):
        raise ValueError(f"the end members have {len(end_a)} and {len(end_b)} sites; they must match site by site")
    frac_a, frac_b = end_a.get_scaled_positions(wrap=False), end_b.get_scaled_positions(wrap=False)
    shift = np.round(frac_b - frac_a)  # the same site may be written in a neighbouring cell
    if np.abs(frac_b - shift - frac_a).max() > 0.25:
        raise ValueError("the end members' sites are not in the same order (fractional coordinates differ by "
                         "more than 0.25); build one from the other with substitute()")
    cell = (1 - x) * np.asarray(end_a.get_cell()) + x * np.asarray(end_b.get_cell())
    frac = (1 - x) * frac_a + x * (frac_b - shift)
    alloy = Atoms(numbers=end_a.get_atomic_numbers(), cell=cell, scaled_positions=frac, pbc=True)
    species: list[SiteSpecies] = []
    for za, zb in zip(end_a.get_atomic_numbers(), end_b.get_atomic_numbers()):
        za, zb = int(za), int(zb)
        species.append({za: 1.0} if za == zb else {za: 1.0 - x, zb: x})
    return alloy, species
