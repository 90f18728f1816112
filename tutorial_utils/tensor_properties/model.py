"""Networks that map a crystal to a property tensor (notebook 07), and the plain baseline.

* :class:`TensorNet` – a head on :class:`~tutorial_utils.nn.EquivariantBackbone` whose output per
  crystal is the irreps of the tensor (``1x0e + 1x2e`` for a dielectric tensor,
  ``2x0e + 2x2e + 1x4e`` for an elastic one): per-atom features of those irreps, averaged over
  the atoms of the cell. With ``isotropic=True`` only the ``0e`` part is predicted (an invariant
  model: the tensor is a multiple of the identity).
* :class:`CartesianNet` – the baseline that breaks the symmetry: the same backbone's invariant
  features, averaged over the atoms, together with the raw cell (9 numbers in Å), through an MLP
  to 9 Cartesian numbers.

Every model returns the *target* of its crystal: the irreps features or the 3x3 matrix of the
scaled tensor that :mod:`~tutorial_utils.tensor_properties.targets` defines (for the dielectric
tensor the matrix logarithm of ``eps - 1``), plus a constant offset (the training mean).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from e3nn import o3
from torch import nn
from torch_geometric.data import Data

from ..nn import EquivariantBackbone, SpeciesOneHot, scatter_mean

__all__ = ["CartesianNet", "TensorNet", "hidden_irreps_for"]


def hidden_irreps_for(mul: int, mul_vec: int, l_max: int) -> o3.Irreps:
    """``mul`` scalars and ``mul_vec`` copies of each ``1 <= l <= l_max`` with parity ``(-1)^l``
    (what polar edge vectors make: ``0e + 1o + 2e + ...``)."""
    irreps = [(mul, (0, 1))] + [(mul_vec, (l, (-1) ** l)) for l in range(1, l_max + 1)]
    return o3.Irreps(irreps)


def _graph_index(data: Data, num_nodes: int, device: torch.device) -> tuple[torch.Tensor, int]:
    batch = getattr(data, "batch", None)
    if batch is None:
        return torch.zeros(num_nodes, dtype=torch.long, device=device), 1
    return batch, int(getattr(data, "num_graphs", int(batch.max()) + 1))


class TensorNet(EquivariantBackbone):
    """Crystal -> the irreps of a property tensor (B, irreps_out.dim), equivariant under O(3).

    1. Species one-hot -> ``mul`` scalars (a linear embedding).
    2. ``num_layers`` interaction blocks over the periodic radius graph (cutoff ``r_max`` Å,
       edge spherical harmonics up to ``l_max``); hidden features ``mul x 0e + mul_vec x
       (1o + 2e + ...)``; the last block keeps ``mul_vec`` copies of each irrep of the output.
    3. An equivariant linear map to ``irreps_out`` per atom, then the mean over the atoms of
       each crystal (an intensive property: a supercell gives the same answer), plus ``offset``.

    Args:
        species: atomic numbers the model knows (another element raises a clear error).
        irreps_out: the tensor's irreps, e.g. ``"1x0e + 1x2e"``.
        isotropic: predict only the ``0e`` channels (the others are zero): the invariant baseline.
        avg_num_neighbors: normalises the neighbour sum (set it from the training graphs).
    """

    offset: torch.Tensor  # (irreps_out.dim,) buffer: the training-set mean of the target
    predicted_mask: torch.Tensor  # (irreps_out.dim,) bool buffer: the channels the model predicts

    def __init__(self, species: Sequence[int], irreps_out: str | o3.Irreps = "1x0e + 1x2e", r_max: float = 5.0,
                 l_max: int = 2, mul: int = 16, mul_vec: int = 8, num_layers: int = 2, num_basis: int = 8,
                 radial_hidden: int = 32, avg_num_neighbors: float = 25.0, isotropic: bool = False) -> None:
        self_species = SpeciesOneHot(species)
        irreps_target = o3.Irreps(irreps_out)
        kept = o3.Irreps([(mul_vec if ir.l > 0 else mul, ir) for _, ir in irreps_target
                          if not (isotropic and ir.l > 0)]).simplify()
        super().__init__(len(self_species.species), 1, hidden_irreps_for(mul, mul_vec, l_max), r_max, l_max,
                         num_layers, num_basis, radial_hidden, avg_num_neighbors=avg_num_neighbors,
                         irreps_last=kept)
        self.species_onehot = self_species
        self.irreps_target, self.isotropic = irreps_target, bool(isotropic)
        self.irreps_predicted = o3.Irreps([(mul, ir) for mul, ir in irreps_target if not (isotropic and ir.l > 0)])
        self.readout = o3.Linear(self.irreps_out, self.irreps_predicted)
        # where the predicted channels sit in the full target (the 0e ones only, if isotropic)
        mask = torch.cat([torch.full((mul * ir.dim,), not (isotropic and ir.l > 0)) for mul, ir in irreps_target])
        self.register_buffer("predicted_mask", mask, persistent=False)
        self.register_buffer("offset", torch.zeros(irreps_target.dim))

    def atom_outputs(self, data: Data) -> torch.Tensor:
        """Per-atom contributions (N, irreps_predicted.dim) before the mean over each crystal."""
        onehot = self.species_onehot(data.z, dtype=data.pos.dtype)
        constant = onehot.new_ones(onehot.shape[0], 1)  # node attribute: a plain linear self-connection
        return self.readout(self.features(data, onehot, constant))

    def forward(self, data: Data) -> torch.Tensor:
        """The target irreps of each crystal in the batch: (B, irreps_out.dim)."""
        per_atom = self.atom_outputs(data)
        batch, num_graphs = _graph_index(data, per_atom.shape[0], per_atom.device)
        pooled = scatter_mean(per_atom, batch, num_graphs)
        out = pooled.new_zeros(num_graphs, self.irreps_target.dim)
        out[:, self.predicted_mask] = pooled
        return out + self.offset


class CartesianNet(nn.Module):
    """The plain baseline: crystal -> 9 Cartesian numbers (B, 3, 3), *not* equivariant.

    The invariant features of the same backbone (``mul`` scalars per atom, averaged over the
    cell) are concatenated with the raw cell matrix (9 numbers, Å / 10), and an MLP maps them
    to the 9 components of the target matrix. It can learn the orientation of the training
    cells (their frame), but nothing ties its output to a rotation of the input.
    """

    offset: torch.Tensor  # (3, 3) buffer: the training-set mean of the target matrix

    def __init__(self, species: Sequence[int], r_max: float = 5.0, l_max: int = 2, mul: int = 16,
                 mul_vec: int = 8, num_layers: int = 2, num_basis: int = 8, radial_hidden: int = 32,
                 avg_num_neighbors: float = 25.0, mlp_hidden: int = 64) -> None:
        super().__init__()
        self.species_onehot = SpeciesOneHot(species)
        self.backbone = EquivariantBackbone(len(self.species_onehot.species), 1, hidden_irreps_for(mul, mul_vec, l_max),
                                            r_max, l_max, num_layers, num_basis, radial_hidden,
                                            avg_num_neighbors=avg_num_neighbors, irreps_last=f"{mul}x0e")
        self.head = nn.Sequential(nn.Linear(mul + 9, mlp_hidden), nn.SiLU(), nn.Linear(mlp_hidden, 9))
        self.register_buffer("offset", torch.zeros(3, 3))

    def forward(self, data: Data) -> torch.Tensor:
        """The target matrix of each crystal: (B, 3, 3)."""
        onehot = self.species_onehot(data.z, dtype=data.pos.dtype)
        h = self.backbone.features(data, onehot, onehot.new_ones(onehot.shape[0], 1))
        batch, num_graphs = _graph_index(data, h.shape[0], h.device)
        pooled = scatter_mean(h, batch, num_graphs)
        cell = data.cell.view(-1, 9).to(pooled.dtype) / 10.0  # Å / 10: numbers of order one
        return self.head(torch.cat([pooled, cell], dim=1)).view(-1, 3, 3) + self.offset
