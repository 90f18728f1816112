"""The one message-passing backbone every model of the curriculum is built on.

``EquivariantBackbone.features`` maps a graph to per-atom irreps features:

1. **embedding**: the node inputs (scalars: a species one-hot, or element fractions and a
   mass) -> ``irreps_hidden``'s ``0e`` channels, by an equivariant linear map;
2. **edges**: ``edge_vec = pos[j] - pos[i] (+ periodic shift)`` within ``r_max`` (Å), its
   spherical harmonics ``Y^l`` for ``l <= l_max_sh`` and the radial embedding
   ``BesselBasis(r) * PolynomialCutoff(r)``;
3. ``num_layers`` :class:`~tutorial_utils.nn.interaction.InteractionBlock` s, the last one
   producing ``irreps_last`` (default ``irreps_hidden``).

The potential, the density model and the phonon network subclass it and add their heads
(an energy readout, per-element coefficient heads, a pooled DoS MLP).
"""

from __future__ import annotations

import torch
from e3nn import o3
from torch import nn
from torch_geometric.data import Data

from ..graphs import edge_vectors
from .interaction import InteractionBlock
from .radial import BesselBasis, PolynomialCutoff

__all__ = ["EquivariantBackbone"]


class EquivariantBackbone(nn.Module):
    """Graph -> per-atom features (N, irreps_out.dim).

    Args:
        num_node_features: scalars per atom that the embedding reads (N, F).
        num_node_attrs: scalars per atom that every self-connection reads (N, A), e.g. the
            species one-hot (NequIP) or a constant 1 (a plain linear self-connection).
        irreps_hidden: features between blocks; their ``0e`` multiplicity is the embedding width.
        r_max: cutoff radius (Å); graphs must be built with at least this radius.
        l_max_sh: highest degree of the edge spherical harmonics.
        num_layers: interaction blocks.
        num_basis: Bessel functions of the radial embedding; radial_hidden: radial-MLP width.
        cutoff_p: exponent of the polynomial cutoff.
        avg_num_neighbors: normalises the neighbour sum (set it from the training data).
        irreps_last: output irreps of the last block (default ``irreps_hidden``), e.g. only
            scalars when the head needs no more.
        embedding_bias: give the embedding a bias (for inputs that are not one-hot).
    """

    def __init__(self, num_node_features: int, num_node_attrs: int, irreps_hidden: str | o3.Irreps,
                 r_max: float, l_max_sh: int, num_layers: int, num_basis: int = 8, radial_hidden: int = 32,
                 cutoff_p: int = 6, avg_num_neighbors: float = 8.0, irreps_last: str | o3.Irreps | None = None,
                 embedding_bias: bool = False) -> None:
        super().__init__()
        if r_max <= 0 or num_layers < 1 or l_max_sh < 0:
            raise ValueError(f"need r_max > 0, num_layers >= 1 and l_max_sh >= 0; got {r_max}, {num_layers}, "
                             f"{l_max_sh}")
        self.r_max, self.num_layers = float(r_max), int(num_layers)
        self.irreps_hidden = o3.Irreps(irreps_hidden).simplify()
        mul_0e = self.irreps_hidden.count("0e")
        if mul_0e == 0:
            raise ValueError(f"irreps_hidden {self.irreps_hidden} needs 0e channels for the embedding")
        self.irreps_in = o3.Irreps(f"{num_node_features}x0e")
        self.irreps_sh = o3.Irreps.spherical_harmonics(l_max_sh)
        self.radial_basis = BesselBasis(r_max, num_basis)
        self.cutoff = PolynomialCutoff(r_max, cutoff_p)
        self.embedding = o3.Linear(self.irreps_in, f"{mul_0e}x0e", biases=embedding_bias)
        blocks, irreps = [], o3.Irreps(f"{mul_0e}x0e")
        for k in range(num_layers):
            target = self.irreps_hidden if (k < num_layers - 1 or irreps_last is None) else o3.Irreps(irreps_last)
            blocks.append(InteractionBlock(irreps, target, self.irreps_sh, num_node_attrs, num_basis,
                                           radial_hidden, avg_num_neighbors))
            irreps = blocks[-1].irreps_out
        self.blocks = nn.ModuleList(blocks)
        self.irreps_out = irreps

    def check_graph(self, data: Data) -> None:
        """A clear error when ``data`` was built with a smaller cutoff than the model's ``r_max``."""
        graph_r_max = getattr(data, "r_max", None)
        if graph_r_max is not None and float(graph_r_max.min()) < self.r_max - 1e-6:
            raise ValueError(f"the graph was built with r_max = {float(graph_r_max.min())} Å but the model "
                             f"needs every neighbour within {self.r_max} Å; rebuild it with r_max={self.r_max}")

    def edge_embedding(self, data: Data) -> tuple[torch.Tensor, torch.Tensor]:
        """Spherical harmonics (E, irreps_sh.dim) and radial embedding (E, num_basis) of every
        edge, differentiable in the positions (and the cell)."""
        edge_vec = edge_vectors(data)  # (E, 3) Å
        edge_len = edge_vec.norm(dim=-1)
        edge_sh = o3.spherical_harmonics(self.irreps_sh, edge_vec, normalize=True, normalization="component")
        edge_radial = self.radial_basis(edge_len) * self.cutoff(edge_len).unsqueeze(-1)
        return edge_sh, edge_radial

    def features(self, data: Data, node_features: torch.Tensor, node_attrs: torch.Tensor) -> torch.Tensor:
        """Per-atom features (N, irreps_out.dim) of graph ``data`` from node inputs (N, F) and
        node attributes (N, A)."""
        self.check_graph(data)
        edge_sh, edge_radial = self.edge_embedding(data)
        h = self.embedding(node_features)
        for block in self.blocks:
            h = block(h, node_attrs, data.edge_index, edge_sh, edge_radial)
        return h
