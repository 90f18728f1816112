"""Crystal symmetry for tensor properties: the standard frame, exact symmetry, Neumann's principle.

Materials Project cells come in whatever orientation the database chose and are symmetric
only to about 1e-5 Å. :func:`standardize` (spglib, through pymatgen's conventions) returns the
*idealized* primitive standard cell, whose point group holds to round-off, in the standard
Cartesian frame of its crystal system (the c axis along z for tetragonal, trigonal and
hexagonal crystals, the cubic axes along x, y, z, the monoclinic unique axis along y), and
the rotation ``R`` from the input frame to that frame (``v_std = R v_in``), so a property
tensor measured in the input frame can be rotated along (``T_std = R T R^T``).

:func:`neumann_residual` measures how far a tensor is from obeying its crystal's point
group (0 for a tensor the crystal allows); :func:`forbidden_components` lists the dielectric
components a crystal system forbids in the standard frame (e.g. ``eps_xy`` and
``eps_xx - eps_yy`` for a tetragonal crystal).

Units: lengths Å; operations are (|G|, 3, 3) Cartesian O(3) matrices acting as ``v -> Q v``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from pymatgen.core import Element, Lattice, Structure

__all__ = ["CRYSTAL_SYSTEMS", "Standardized", "forbidden_components", "neumann_residual", "rotate_tensor",
           "standardize"]

CRYSTAL_SYSTEMS = ("triclinic", "monoclinic", "orthorhombic", "tetragonal", "trigonal", "hexagonal", "cubic")


@dataclass(frozen=True)
class Standardized:
    """A crystal in its standard frame with its exact point group.

    Attributes:
        structure: the idealized primitive standard cell (pymatgen ``Structure``), Å.
        rotation: ``R`` (3, 3), input Cartesian frame -> standard frame, ``v_std = R v_in``.
        operations: the point group as Cartesian matrices in the standard frame (|G|, 3, 3).
        crystal_system: one of :data:`CRYSTAL_SYSTEMS`.
        point_group: Hermann-Mauguin symbol of the crystal class (e.g. ``"m-3m"``).
        space_group: international number (1-230).
    """

    structure: Structure
    rotation: np.ndarray
    operations: np.ndarray
    crystal_system: str
    point_group: str
    space_group: int


def _crystal_system(number: int) -> str:
    """Crystal system of space group ``number`` (International Tables ranges)."""
    for last, name in zip((2, 15, 74, 142, 167, 194, 230), CRYSTAL_SYSTEMS):
        if number <= last:
            return name
    raise ValueError(f"space group number {number} is not between 1 and 230")


@contextmanager
def _spglib_raises() -> Iterator[None]:
    """spglib's new error handling (exceptions, not a DeprecationWarning and a None result)."""
    import spglib.error

    old = spglib.error.OLD_ERROR_HANDLING
    spglib.error.OLD_ERROR_HANDLING = False
    try:
        yield
    finally:
        spglib.error.OLD_ERROR_HANDLING = old


def standardize(structure: Structure, symprec: float = 0.01) -> Standardized:
    """The idealized primitive standard cell of ``structure`` (spglib, tolerance ``symprec`` Å)
    in the standard frame, with the rotation from the input frame and the exact point group.

    Raises ``ValueError`` for a structure spglib cannot analyse (overlapping atoms, a
    disordered site), naming what to check.
    """
    import spglib

    if not structure.is_ordered:
        raise ValueError("the structure has partial occupancies; order it first (tensor models need one "
                         "element per site)")
    cell = (structure.lattice.matrix.tolist(), structure.frac_coords.tolist(), [site.specie.Z for site in structure])
    try:
        with _spglib_raises():
            dataset = spglib.get_symmetry_dataset(cell, symprec=symprec)
            standard = spglib.standardize_cell(cell, to_primitive=True, no_idealize=False, symprec=symprec)
    except spglib.error.SpglibError as exc:
        raise ValueError(f"spglib could not find the symmetry of {structure.composition.reduced_formula} at "
                         f"symprec={symprec} Å (atoms too close, or a broken cell?): {exc}") from None
    if dataset is None or standard is None:
        raise ValueError(f"spglib could not find the symmetry of {structure.composition.reduced_formula} at "
                         f"symprec={symprec} Å (atoms too close, or a broken cell?)")
    lattice, frac, numbers = standard
    std = Structure(Lattice(lattice), [Element.from_Z(int(z)) for z in numbers], frac)
    # spglib: standard lattice (rows) = (P^-T lattice_in) R^T, so R rotates input Cartesian
    # vectors into the standard frame (exactly orthogonal up to the idealization).
    rotation = np.asarray(dataset.std_rotation_matrix, dtype=np.float64)
    with _spglib_raises():
        ops_dataset = spglib.get_symmetry_dataset((lattice, frac, numbers), symprec=1e-5)
    if ops_dataset is None or ops_dataset.number != dataset.number:
        raise ValueError(f"the idealized cell of {structure.composition.reduced_formula} lost its symmetry; "
                         f"try another symprec than {symprec} Å")
    L = np.asarray(lattice, dtype=np.float64).T  # cell vectors as columns
    rotations = np.asarray(ops_dataset.rotations, dtype=np.float64)  # in fractional coordinates
    cartesian = np.einsum("ij,gjk,kl->gil", L, rotations, np.linalg.inv(L))
    # pure translations of a non-primitive setting repeat rotations: keep each once
    _, first = np.unique(np.round(cartesian, 6), axis=0, return_index=True)
    return Standardized(structure=std, rotation=rotation, operations=cartesian[np.sort(first)],
                        crystal_system=_crystal_system(int(dataset.number)),
                        point_group=str(dataset.pointgroup), space_group=int(dataset.number))


def rotate_tensor(T: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Rotate a Cartesian tensor (..., 3, ..., 3) with all of its ``rank`` trailing indices:
    ``T'_{ij..} = R_ia R_jb .. T_{ab..}``. The rank is read from ``T.ndim`` for (3,)*rank
    shapes; pass a batch as (B, 3, ..., 3) with ``T.ndim - 1`` indices."""
    T = np.asarray(T, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    rank = T.ndim if T.shape == (3,) * T.ndim else T.ndim - 1
    out = T
    for k in range(rank):
        axis = T.ndim - rank + k
        out = np.moveaxis(np.tensordot(out, R, axes=([axis], [1])), -1, axis)
    return out


def neumann_residual(T: np.ndarray, operations: np.ndarray) -> float:
    """``max |T - <g.T>_G|``: how far a Cartesian tensor (3, ..., 3) is from the part the point
    group ``operations`` (|G|, 3, 3) allows (0 when it obeys Neumann's principle)."""
    T = np.asarray(T, dtype=np.float64)
    if T.shape != (3,) * T.ndim or T.ndim == 0:
        raise ValueError(f"a Cartesian tensor needs every axis of size 3, got shape {T.shape}")
    averaged = np.mean([rotate_tensor(T, g) for g in np.asarray(operations, dtype=np.float64)], axis=0)
    return float(np.abs(T - averaged).max())


def forbidden_components(eps: np.ndarray, crystal_system: str) -> dict[str, np.ndarray]:
    """The combinations of a symmetric 3x3 tensor (..., 3, 3) that ``crystal_system`` forbids in
    its standard frame (each must vanish by Neumann's principle), as arrays of shape (...):

    * cubic: every off-diagonal, ``xx - yy`` and ``yy - zz`` (an isotropic tensor);
    * tetragonal, trigonal, hexagonal (c along z): every off-diagonal and ``xx - yy``;
    * orthorhombic: every off-diagonal; monoclinic (unique axis y): ``xy`` and ``yz``;
    * triclinic: none.
    """
    e = np.asarray(eps, dtype=np.float64)
    if e.shape[-2:] != (3, 3):
        raise ValueError(f"a dielectric tensor needs shape (..., 3, 3), got {e.shape}")
    if crystal_system not in CRYSTAL_SYSTEMS:
        raise ValueError(f"unknown crystal system {crystal_system!r}; choose one of {CRYSTAL_SYSTEMS}")
    off = {"xy": e[..., 0, 1], "xz": e[..., 0, 2], "yz": e[..., 1, 2]}
    if crystal_system == "triclinic":
        return {}
    if crystal_system == "monoclinic":
        return {"xy": off["xy"], "yz": off["yz"]}
    if crystal_system == "orthorhombic":
        return off
    out = {**off, "xx-yy": e[..., 0, 0] - e[..., 1, 1]}
    if crystal_system == "cubic":
        out["yy-zz"] = e[..., 1, 1] - e[..., 2, 2]
    return out
