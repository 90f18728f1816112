"""The interaction block: a tensor-product convolution with radial-MLP weights, a gate and a
self-connection (NequIP's block; Batzner et al., Nat. Commun. 13, 2453, 2022)."""

from __future__ import annotations

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet
from torch import nn

from .gate import gate_for

__all__ = ["InteractionBlock", "convolution_paths"]


Instruction = tuple[int, int, int, str, bool]  # (input, sh, output, mode, has weights): e3nn's TensorProduct


def convolution_paths(irreps_in: o3.Irreps, irreps_sh: o3.Irreps, irreps_wanted: o3.Irreps
                      ) -> tuple[o3.Irreps, list[Instruction]]:
    """Tensor-product paths ``irreps_in x irreps_sh -> ir_out`` kept when ``ir_out`` appears in
    ``irreps_wanted``; one output block per path (``uvu``: each input channel keeps its own
    channel, weighted per edge). Returns (irreps_out sorted, instructions)."""
    wanted = {ir for _, ir in irreps_wanted}
    blocks: list[tuple[int, o3.Irrep]] = []
    instructions: list[Instruction] = []
    for i_in, (mul, ir_in) in enumerate(irreps_in):
        for i_sh, (_, ir_sh) in enumerate(irreps_sh):
            for ir_out in ir_in * ir_sh:
                if ir_out in wanted:
                    instructions.append((i_in, i_sh, len(blocks), "uvu", True))
                    blocks.append((mul, ir_out))
    irreps_out, perm, _ = o3.Irreps(blocks).sort()
    return irreps_out, [(a, b, perm[c], mode, train) for a, b, c, mode, train in instructions]


class InteractionBlock(nn.Module):
    r"""One NequIP-style interaction:

    .. math::
        h_i' = \mathrm{Gate}\Big(W_2 \frac{1}{\sqrt{\bar n}} \sum_{j \in N(i)}
        R(|r_{ij}|) \; (W_1 h_j) \otimes Y(\hat r_{ij}) \;+\; \mathrm{SC}(h_i, z_i)\Big)

    ``W_1, W_2`` are equivariant linear maps (``o3.Linear``), ``R`` a radial MLP giving the
    per-edge tensor-product weights, ``SC`` the self-connection (a tensor product of the
    features with the node attributes ``z_i``: the species one-hot, or a constant 1 for a
    plain linear map), ``n`` the average number of neighbours.
    """

    avg_num_neighbors: torch.Tensor  # a buffer: saved with the weights it was trained with

    def __init__(self, irreps_in: o3.Irreps, irreps_out: o3.Irreps, irreps_sh: o3.Irreps, num_node_attrs: int,
                 num_basis: int, radial_hidden: int, avg_num_neighbors: float) -> None:
        super().__init__()
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        irreps_node_attr = o3.Irreps(f"{num_node_attrs}x0e")
        self.gate = gate_for(self.irreps_out)
        irreps_pre = self.gate.irreps_in  # what the gate eats: scalars, gate scalars, gated irreps
        self.linear_1 = o3.Linear(self.irreps_in, self.irreps_in)
        irreps_mid, instructions = convolution_paths(self.irreps_in, irreps_sh, irreps_pre)
        self.tp = o3.TensorProduct(self.irreps_in, irreps_sh, irreps_mid, instructions,
                                   shared_weights=False, internal_weights=False)
        # no bias in the radial MLP: zero radial input (at the cutoff) gives zero weights
        self.radial_mlp = FullyConnectedNet([num_basis, radial_hidden, radial_hidden, self.tp.weight_numel],
                                            torch.nn.functional.silu)
        self.linear_2 = o3.Linear(irreps_mid, irreps_pre)
        self.self_connection = o3.FullyConnectedTensorProduct(self.irreps_in, irreps_node_attr, irreps_pre)
        # a buffer, so that a saved state_dict carries the normalisation it was trained with
        self.register_buffer("avg_num_neighbors", torch.tensor(float(avg_num_neighbors)))

    def forward(self, h: torch.Tensor, node_attrs: torch.Tensor, edge_index: torch.Tensor,
                edge_sh: torch.Tensor, edge_radial: torch.Tensor) -> torch.Tensor:
        """h (N, irreps_in.dim), node_attrs (N, A), edge_index (2, E) [j, i],
        edge_sh (E, irreps_sh.dim), edge_radial (E, num_basis) -> (N, irreps_out.dim)."""
        j, i = edge_index
        weights = self.radial_mlp(edge_radial)  # (E, tp.weight_numel)
        messages = self.tp(self.linear_1(h)[j], edge_sh, weights)  # (E, irreps_mid.dim)
        summed = messages.new_zeros(h.shape[0], messages.shape[1]).index_add_(0, i, messages)
        out = self.linear_2(summed / self.avg_num_neighbors.sqrt())
        out = out + self.self_connection(h, node_attrs)
        return self.gate(out)

