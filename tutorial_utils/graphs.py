"""Radius graphs for molecules and periodic crystals, without compiled PyG extensions.

Convention used everywhere in this package (the PyG "source to target" convention):

* ``edge_index[0]`` is the *neighbour* ``j`` that sends a message,
  ``edge_index[1]`` is the *centre* ``i`` that receives it;
* ``edge_vec = pos[j] - pos[i] + shift @ cell`` points from the centre to its neighbour, in Å;
* ``edge_shift`` holds the integer number of cell vectors crossed (zeros for molecules).

Pair lists are found without gradients (pure torch for molecules, the ``vesin``
neighbour-list library for crystals); edge vectors are then recomputed in torch by
:func:`edge_vectors`, so energies are differentiable with respect to positions and cell.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from ase import Atoms
from torch_geometric.data import Data

__all__ = [
    "atoms_to_data",
    "check_positions",
    "edge_vectors",
    "periodic_radius_graph",
    "radius_graph",
    "structure_to_data",
    "symbols_to_numbers",
]


def _check_r_max(r_max: float) -> float:
    r_max = float(r_max)
    if not np.isfinite(r_max) or r_max <= 0:
        raise ValueError(f"r_max must be a positive distance in Å, got {r_max}")
    return r_max


def _to_numpy(x: np.ndarray | torch.Tensor) -> np.ndarray:
    """A float64 NumPy copy of an array or tensor (detached, on the CPU)."""
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.array(x, dtype=np.float64)


def check_positions(pos: torch.Tensor | np.ndarray) -> None:
    """Raise a ``ValueError`` naming the first bad atom if positions are empty, not (N, 3)
    or not finite."""
    pos_np = np.asarray(pos.detach().cpu() if isinstance(pos, torch.Tensor) else pos)
    if pos_np.ndim != 2 or pos_np.shape[1] != 3:
        raise ValueError(f"positions must have shape (N, 3), got {pos_np.shape}")
    if pos_np.shape[0] == 0:
        raise ValueError("the structure has no atoms; a graph needs at least one atom")
    bad = ~np.isfinite(pos_np).all(axis=1)
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{int(bad.sum())} atom(s) have non-finite (NaN or inf) positions, "
            f"the first is atom {first}: {pos_np[first].tolist()}"
        )


def symbols_to_numbers(symbols: Sequence[str]) -> list[int]:
    """Map element symbols to atomic numbers, with a clear error for an unknown symbol."""
    from ase.data import atomic_numbers

    numbers = []
    for k, s in enumerate(symbols):
        if s not in atomic_numbers:
            raise ValueError(
                f"unknown element symbol {s!r} at position {k}; use a symbol such as "
                "'H', 'C', 'O' or 'Cu' (case matters)"
            )
        numbers.append(atomic_numbers[s])
    return numbers


def radius_graph(
    pos: torch.Tensor,
    r_max: float,
    batch: torch.Tensor | None = None,
    self_loops: bool = False,
) -> torch.Tensor:
    """All ordered pairs (j, i) with ``|pos[j] - pos[i]| < r_max`` inside each molecule.

    Args:
        pos: (N, 3) positions in Å.
        r_max: cutoff radius in Å (> 0).
        batch: (N,) index of the molecule each atom belongs to (sorted); ``None`` for one.
        self_loops: include (i, i) pairs.

    Returns:
        edge_index: (2, E) long tensor, ``[neighbour j, centre i]``.
    """
    r_max = _check_r_max(r_max)
    check_positions(pos)
    n = pos.shape[0]
    if batch is None:
        batch = torch.zeros(n, dtype=torch.long, device=pos.device)
    if batch.shape != (n,):
        raise ValueError(f"batch must have shape ({n},), got {tuple(batch.shape)}")
    if n > 1 and bool((batch[1:] < batch[:-1]).any()):
        raise ValueError("batch must be sorted (atoms of one molecule contiguous)")
    counts = torch.bincount(batch)
    offsets = torch.cumsum(counts, 0) - counts
    edges = []
    with torch.no_grad():
        for b in torch.nonzero(counts).flatten().tolist():
            start, size = int(offsets[b]), int(counts[b])
            p = pos[start : start + size]
            d = torch.cdist(p, p)
            mask = d < r_max
            if not self_loops:
                mask.fill_diagonal_(False)
            i, j = torch.nonzero(mask, as_tuple=True)
            edges.append(torch.stack([j, i]) + start)
    if not edges:
        return torch.zeros(2, 0, dtype=torch.long, device=pos.device)
    return torch.cat(edges, dim=1)


def periodic_radius_graph(
    pos: np.ndarray | torch.Tensor,
    cell: np.ndarray | torch.Tensor,
    pbc: Sequence[bool] | bool,
    r_max: float,
) -> tuple[torch.Tensor, torch.Tensor]:
    """All pairs (j, i, shift) with ``|pos[j] - pos[i] + shift @ cell| < r_max``.

    Works for any cell shape (triclinic included), for cutoffs larger than the cell (an
    atom then sees many images of each neighbour, and of itself), and for mixed
    boundaries (e.g. a slab with ``pbc = (True, True, False)``).

    Args:
        pos: (N, 3) Cartesian positions in Å.
        cell: (3, 3) cell vectors as rows, in Å.
        pbc: periodic along each cell vector; at least one must be True.
        r_max: cutoff radius in Å (> 0).

    Returns:
        edge_index: (2, E) long tensor ``[neighbour j, centre i]``;
        edge_shift: (E, 3) integer-valued float tensor of cell vectors crossed.
    """
    from vesin import NeighborList

    r_max = _check_r_max(r_max)
    check_positions(pos)
    pos_np = _to_numpy(pos)
    cell_np = _to_numpy(cell).reshape(3, 3)
    pbc_arr = np.broadcast_to(np.asarray(pbc, dtype=bool), (3,)).copy()
    if not pbc_arr.any():
        raise ValueError(
            "the structure is not periodic (pbc is False along every cell vector); "
            "use radius_graph (molecules) instead of periodic_radius_graph"
        )
    if not np.isfinite(cell_np).all():
        raise ValueError("the cell contains non-finite values")
    for k in np.flatnonzero(pbc_arr):
        if np.linalg.norm(cell_np[k]) < 1e-8:
            raise ValueError(f"cell vector {k} is zero but pbc[{k}] is True; give a real cell")
    if abs(np.linalg.det(cell_np)) < 1e-8:
        if pbc_arr.all():
            raise ValueError("the cell volume is zero; the three cell vectors must be independent")
        raise ValueError(
            "the cell is degenerate; give a full 3x3 cell (add vacuum along the "
            "non-periodic directions)"
        )
    nl = NeighborList(cutoff=r_max, full_list=True)
    i, j, shift = nl.compute(pos_np, cell_np, pbc_arr.tolist(), quantities="ijS")
    # vesin returns strictly-below-cutoff pairs in no particular order: sort for
    # reproducibility across runs and versions.
    order = np.lexsort((shift[:, 2], shift[:, 1], shift[:, 0], j, i))
    edge_index = torch.as_tensor(np.stack([j[order], i[order]]).astype(np.int64))
    edge_shift = torch.as_tensor(shift[order].astype(np.float64)).to(torch.get_default_dtype())
    return edge_index, edge_shift


def edge_vectors(data: Data) -> torch.Tensor:
    """Edge vectors ``pos[j] - pos[i] + shift @ cell`` (E, 3), in Å, differentiable.

    ``data`` needs ``pos`` (N, 3) and ``edge_index`` (2, E); for crystals also ``cell``
    (B, 3, 3) and ``edge_shift`` (E, 3), where B is the number of structures in the batch.
    """
    j, i = data.edge_index
    vec = data.pos[j] - data.pos[i]
    shift = getattr(data, "edge_shift", None)
    if shift is not None and shift.numel() > 0:
        cell = data.cell.view(-1, 3, 3)
        batch = getattr(data, "batch", None)
        graph_of_edge = batch[i] if batch is not None else torch.zeros_like(i)
        vec = vec + torch.einsum("ek,ekx->ex", shift.to(vec.dtype), cell[graph_of_edge].to(vec.dtype))
    return vec


def _make_data(
    numbers: np.ndarray,
    pos: np.ndarray,
    cell: np.ndarray,
    pbc: np.ndarray,
    r_max: float,
    **extra: torch.Tensor,
) -> Data:
    dtype = torch.get_default_dtype()
    numbers_t = torch.as_tensor(np.array(numbers, dtype=np.int64))
    if (numbers_t < 1).any() or (numbers_t > 118).any():
        bad = int(numbers_t[(numbers_t < 1) | (numbers_t > 118)][0])
        raise ValueError(f"atomic number {bad} is not an element (valid: 1 to 118)")
    pos_t = torch.as_tensor(np.array(pos, dtype=np.float64)).to(dtype)
    check_positions(pos_t)
    cell_t = torch.as_tensor(np.array(cell, dtype=np.float64)).to(dtype).view(1, 3, 3)
    if np.any(pbc):
        edge_index, edge_shift = periodic_radius_graph(pos, cell, [bool(p) for p in np.broadcast_to(pbc, 3)], r_max)
    else:
        edge_index = radius_graph(pos_t, r_max)
        edge_shift = torch.zeros(edge_index.shape[1], 3, dtype=dtype)
    return Data(
        pos=pos_t,
        z=numbers_t,
        cell=cell_t,
        pbc=torch.as_tensor(np.array(pbc, dtype=bool)).view(1, 3),
        edge_index=edge_index,
        edge_shift=edge_shift.to(dtype),
        num_nodes=len(numbers_t),
        r_max=torch.tensor([float(r_max)], dtype=dtype),
        **extra,
    )


def atoms_to_data(atoms: Atoms, r_max: float, **extra: torch.Tensor) -> Data:
    """Build a radius graph ``Data`` from an ``ase.Atoms`` (molecule or crystal).

    The result holds ``pos`` (N, 3) Å, ``z`` (N,) atomic numbers, ``cell`` (1, 3, 3) Å,
    ``pbc`` (1, 3), ``edge_index`` (2, E), ``edge_shift`` (E, 3) and any ``extra``
    tensors (e.g. targets). Periodic if any ``atoms.pbc`` is True.
    """
    if len(atoms) == 0:
        raise ValueError("the structure has no atoms; a graph needs at least one atom")
    return _make_data(
        atoms.get_atomic_numbers(),
        atoms.get_positions(),
        np.asarray(atoms.get_cell()),
        np.asarray(atoms.get_pbc()),
        r_max,
        **extra,
    )


def structure_to_data(structure, r_max: float, **extra: torch.Tensor) -> Data:
    """Build a radius graph ``Data`` from a ``pymatgen`` ``Structure`` (periodic) or
    ``Molecule`` (non-periodic); see :func:`atoms_to_data` for the fields."""
    if len(structure) == 0:
        raise ValueError("the structure has no atoms; a graph needs at least one atom")
    if not structure.is_ordered:
        raise ValueError(
            "the structure has partial occupancies; order it first (e.g. with pymatgen's "
            "OrderDisorderedStructureTransformation) or use a weighted species encoding"
        )
    numbers = np.array([site.specie.Z for site in structure])
    pos = np.asarray(structure.cart_coords)
    lattice = getattr(structure, "lattice", None)
    if lattice is None:  # pymatgen Molecule
        return _make_data(numbers, pos, np.zeros((3, 3)), np.zeros(3, bool), r_max, **extra)
    return _make_data(numbers, pos, np.asarray(lattice.matrix), np.asarray(lattice.pbc), r_max, **extra)
