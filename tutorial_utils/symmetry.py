"""Symmetry operations and equivariance checks, shared by tests and notebooks.

An element of O(3) is stored as a 3x3 orthogonal matrix ``Q`` with ``det Q = +1``
(a rotation) or ``-1`` (a rotation followed by inversion). It acts on Cartesian
vectors as ``x -> x @ Q.T`` and on irreps features as ``x -> x @ D(Q).T``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager

import numpy as np
import torch
from ase import Atoms
from e3nn import o3
from e3nn.util.test import equivariance_error
from torch_geometric.data import Data

__all__ = [
    "assert_equivariant",
    "default_dtype",
    "graph_equivariance_error",
    "kabsch_rotation",
    "point_group_of_points",
    "random_o3",
    "random_rotation",
    "rotate_irreps",
    "transform_atoms",
    "transform_data",
]


@contextmanager
def default_dtype(dtype: torch.dtype) -> Iterator[None]:
    """Temporarily set torch's default dtype. e3nn builds Wigner D matrices in the default
    dtype, so float64 checks under a float32 default would lose precision (~1e-7)."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(old)


def random_rotation(n: int | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Uniformly random rotation matrices (Haar measure on SO(3)): (3, 3) or (n, 3, 3)."""
    shape = () if n is None else (n,)
    return o3.rand_matrix(*shape, dtype=dtype or torch.get_default_dtype())


def random_o3(n: int | None = None, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Random O(3) elements: a Haar rotation, times -1 (inversion) with probability 1/2."""
    R = random_rotation(n, dtype)
    sign = torch.where(torch.rand(R.shape[:-2]) < 0.5, -1.0, 1.0).to(R.dtype)
    return R * sign[..., None, None]


def rotate_irreps(irreps: o3.Irreps | str, x: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
    """Apply the O(3) element ``Q`` (3, 3) to features ``x`` (..., irreps.dim)."""
    with default_dtype(x.dtype):
        D = o3.Irreps(irreps).D_from_matrix(Q.to(x.dtype))
    return x @ D.T


def kabsch_rotation(x: np.ndarray, y: np.ndarray, proper: bool = True) -> np.ndarray:
    """The orthogonal ``Q`` (3, 3) that minimises ``sum_i |x_i @ Q.T - y_i|^2`` (Kabsch).

    ``x``, ``y``: (M, 3) point sets, already centred and matched point by point. With
    ``proper=True`` the answer is a rotation (det +1); otherwise a mirror is allowed.
    """
    U, _, Vt = np.linalg.svd(np.asarray(y, float).T @ np.asarray(x, float))
    if proper and np.linalg.det(U @ Vt) < 0:  # flip the weakest axis to stay a rotation
        U = U.copy()
        U[:, -1] = -U[:, -1]
    return U @ Vt


def point_group_of_points(positions: np.ndarray | torch.Tensor, numbers: Sequence[int] | None = None,
                          tolerance: float = 0.01) -> tuple[str, torch.Tensor]:
    """The point group of a finite set of points (a molecule, a shape), found by pymatgen.

    ``positions`` (N, 3) in any length unit (``tolerance`` in the same unit); ``numbers`` (N,)
    tells different kinds of points apart (default: all alike). Returns the Schoenflies symbol
    (``"D4h"``; linear sets give pymatgen's ``"D*h"`` or ``"C*v"``, whose infinite groups are
    represented by a few elements only) and the elements (|G|, 3, 3), float64, acting on
    positions taken about their centroid, each checked to map the set onto itself.
    """
    from pymatgen.core import Element, Molecule
    from pymatgen.symmetry.analyzer import PointGroupAnalyzer

    pos = np.asarray(positions, dtype=float)
    if pos.ndim != 2 or pos.shape[1] != 3 or len(pos) == 0:
        raise ValueError(f"positions must have shape (N, 3) with N >= 1, got {pos.shape}")
    species = list(numbers) if numbers is not None else [6] * len(pos)
    if len(species) != len(pos):
        raise ValueError(f"{len(species)} numbers for {len(pos)} positions")
    centred = pos - pos.mean(axis=0)
    molecule = Molecule([Element.from_Z(int(z)) for z in species], centred)
    analyzer = PointGroupAnalyzer(molecule, tolerance=tolerance)
    ops = np.array([op.rotation_matrix for op in analyzer.get_symmetry_operations()])
    for Q in ops:  # every element must permute points of the same kind
        moved = centred @ Q.T
        gap = np.abs(moved[:, None, :] - centred[None, :, :]).max(axis=-1)
        same_kind = np.asarray(species)[:, None] == np.asarray(species)[None, :]
        if not (np.where(same_kind, gap, np.inf).min(axis=1) < 10 * tolerance).all():
            raise RuntimeError("pymatgen returned an operation that does not map the points onto themselves")
    return str(analyzer.sch_symbol), torch.from_numpy(ops)


def transform_data(data: Data, Q: torch.Tensor, t: torch.Tensor | None = None) -> Data:
    """A copy of ``data`` with positions ``pos @ Q.T + t`` and cell rows ``cell @ Q.T``.

    Edges and integer cell shifts stay valid: every distance is unchanged.
    """
    out = data.clone()
    Q = Q.to(data.pos.dtype)
    out.pos = data.pos @ Q.T
    if t is not None:
        out.pos = out.pos + t.to(data.pos.dtype)
    if getattr(data, "cell", None) is not None:
        out.cell = data.cell @ Q.T
    return out


def transform_atoms(atoms: Atoms, Q: np.ndarray | torch.Tensor, t: Sequence[float] | None = None):
    """A copy of an ``ase.Atoms`` with positions ``pos @ Q.T + t`` and the cell rotated."""
    Q = np.asarray(Q, dtype=np.float64)
    out = atoms.copy()
    out.set_cell(np.asarray(atoms.get_cell()) @ Q.T, scale_atoms=False)
    pos = atoms.get_positions() @ Q.T
    if t is not None:
        pos = pos + np.asarray(t, dtype=np.float64)
    out.set_positions(pos)
    return out


def graph_equivariance_error(
    model: Callable[[Data], torch.Tensor | tuple[torch.Tensor, ...]],
    data: Data,
    irreps_out: o3.Irreps | str | Sequence[o3.Irreps | str | None],
    ntrials: int = 3,
    do_parity: bool = True,
    do_translation: bool = True,
) -> float:
    """Largest equivariance error of a graph model over random O(3) elements and translations.

    Wraps :func:`e3nn.util.test.equivariance_error`: the positions are treated as
    Cartesian points and the cell rows as three vectors (``3x1o``), so the graph's edges
    stay valid. ``irreps_out`` describes the model's output(s), e.g. ``"0e"`` for an
    energy or ``["0e", "1o"]`` for (energy, forces).
    """

    def func(pos: torch.Tensor, cell_flat: torch.Tensor):
        moved = data.clone()
        moved.pos = pos
        moved.cell = cell_flat.view(-1, 3, 3)
        return model(moved)

    cell = getattr(data, "cell", None)
    if cell is None:
        cell = torch.zeros(1, 3, 3, dtype=data.pos.dtype)
    with default_dtype(data.pos.dtype):
        errors = equivariance_error(
            func,
            [data.pos, cell.reshape(-1, 9)],
            irreps_in=["cartesian_points", "3x1o"],
            irreps_out=irreps_out,
            ntrials=ntrials,
            do_parity=do_parity,
            do_translation=do_translation,
        )
    return float(max(float(e.max()) for e in errors.values()))


def assert_equivariant(
    model: Callable[[Data], torch.Tensor | tuple[torch.Tensor, ...]],
    data: Data,
    irreps_out: o3.Irreps | str | Sequence[o3.Irreps | str | None],
    tolerance: float | None = None,
    **kwargs,
) -> float:
    """Raise ``AssertionError`` if :func:`graph_equivariance_error` exceeds ``tolerance``.

    The default tolerance is 1e-9 in float64 and 1e-4 in float32 (relative to outputs of
    order one). Returns the error so a notebook can print it.
    """
    if tolerance is None:
        tolerance = 1e-9 if data.pos.dtype == torch.float64 else 1e-4
    err = graph_equivariance_error(model, data, irreps_out, **kwargs)
    if not err <= tolerance:
        raise AssertionError(
            f"equivariance error {err:.3e} exceeds tolerance {tolerance:.1e} "
            f"({data.pos.dtype}); the model is not equivariant for output irreps {irreps_out}"
        )
    return err
