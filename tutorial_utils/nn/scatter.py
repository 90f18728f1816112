"""Sums and means over groups of rows (atoms -> structures, edges -> atoms), with torch's
``index_add_``: the one way of scattering in this package (no compiled PyG extension)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch_geometric.data import Data

__all__ = ["average_num_neighbors", "scatter_mean", "scatter_sum"]


def scatter_sum(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """``out[k] = sum of src[i] over i with index[i] == k``: src (N, ...), index (N,) -> (dim_size, ...)."""
    return src.new_zeros((dim_size, *src.shape[1:])).index_add_(0, index, src)


def scatter_mean(src: torch.Tensor, index: torch.Tensor, dim_size: int) -> torch.Tensor:
    """Mean of the rows of ``src`` (N, ...) in each group of ``index`` (N,) -> (dim_size, ...);
    an empty group gives zeros."""
    total = scatter_sum(src, index, dim_size)
    count = scatter_sum(torch.ones_like(index, dtype=src.dtype), index, dim_size).clamp(min=1)
    return total / count.reshape(-1, *([1] * (src.dim() - 1)))


def average_num_neighbors(data_list: Sequence[Data]) -> float:
    """Mean number of neighbours per atom (edges / atoms) over a list of graphs: the
    ``avg_num_neighbors`` that keeps the neighbour sum of order one."""
    edges = sum(int(d.edge_index.shape[1]) for d in data_list)
    atoms = sum(int(d.num_nodes) for d in data_list)
    if atoms == 0:
        raise ValueError("average_num_neighbors needs at least one structure with atoms")
    return edges / atoms
