"""The phonon DoS network: a pooled DoS head on the shared backbone (notebook 06)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data

from ..nn import EquivariantBackbone, scatter_mean
from .features import N_ELEMENTS

__all__ = ["PhononDoSNet", "dos_loss", "predict_dos"]


class PhononDoSNet(EquivariantBackbone):
    """Crystal -> phonon DoS on ``num_bins`` frequency bins, invariant under E(3) and cell choice.

    1. Embed each site's features x (N, 119) (weighted one-hot + mass) into scalars.
    2. ``num_layers`` interaction blocks of :class:`~tutorial_utils.nn.EquivariantBackbone` over
       the periodic radius graph (edge vectors pos_j - pos_i + shift @ cell; spherical harmonics
       up to ``l_max``; Bessel radial basis times a smooth cutoff at ``r_max``); the hidden
       features carry ``mul`` scalars of each parity and ``mul_vec`` copies of every
       ``1 <= l <= l_max`` of each parity; the last block keeps only ``mul`` scalars.
    3. Each atom's scalars -> an MLP -> softplus: a non-negative per-atom DoS (N, num_bins).
    4. Mean over the atoms of each crystal (so a supercell gives the same answer), then
       divide by the maximum over bins: a max-normalised DoS like the data (B, num_bins).

    The element part of the embedding starts at zero, so an element never seen in
    training is described by its mass alone (see the generalisation section).
    """

    def __init__(self, r_max: float = 5.0, l_max: int = 2, mul: int = 32, mul_vec: int = 8,
                 num_layers: int = 3, num_basis: int = 10, radial_hidden: int = 32, num_bins: int = 51,
                 avg_num_neighbors: float = 30.0, normalise_max: bool = True) -> None:
        vectors = [f"{mul_vec}x{l}{p}" for l in range(1, l_max + 1) for p in ("e", "o")]
        irreps_hidden = " + ".join([f"{mul}x0e", f"{mul}x0o", *vectors])
        super().__init__(N_ELEMENTS + 1, 1, irreps_hidden, r_max, l_max, num_layers, num_basis, radial_hidden,
                         avg_num_neighbors=avg_num_neighbors, irreps_last=f"{mul}x0e", embedding_bias=True)
        self.normalise_max = normalise_max
        with torch.no_grad():  # the element part of the embedding starts at zero: mass only
            # one 0e -> 0e path: e3nn stores its weight as (mul_in, mul_out), flattened
            self.embedding.weight.view(N_ELEMENTS + 1, mul)[:N_ELEMENTS].zero_()
        self.head = nn.Sequential(nn.Linear(mul, 2 * mul), nn.SiLU(), nn.Linear(2 * mul, num_bins))

    def atom_dos(self, data: Data) -> torch.Tensor:
        """Non-negative per-atom contributions (N, num_bins) before pooling."""
        constant = data.x.new_ones(data.x.shape[0], 1)  # node attribute: a plain linear self-connection
        h = self.features(data, data.x, constant)  # (N, mul): invariant scalars
        return torch.nn.functional.softplus(self.head(h))

    def forward(self, data: Data) -> torch.Tensor:
        """The DoS of each crystal in the batch: (B, num_bins), non-negative, max 1 per crystal."""
        per_atom = self.atom_dos(data)
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(per_atom.shape[0], dtype=torch.long, device=per_atom.device)
        dos = scatter_mean(per_atom, batch, int(batch.max()) + 1)
        if self.normalise_max:
            dos = dos / (dos.max(dim=1, keepdim=True).values + 1e-8)
        return dos


@torch.no_grad()
def predict_dos(model: nn.Module, graphs: Sequence[Data], batch_size: int = 32,
                device: torch.device | str | None = None) -> np.ndarray:
    """Predicted DoS (M, num_bins) for a list of graphs, in evaluation mode, computed on
    ``device`` (the model is moved there; ``None``: the model's device), float64 on the CPU."""
    from torch_geometric.loader import DataLoader

    from ..runtime import move_model

    model.eval()
    device = move_model(model, device)
    out = [model(b.to(device)).cpu() for b in DataLoader(list(graphs), batch_size=batch_size)]
    return torch.cat(out).double().numpy()


def dos_loss(model: nn.Module, batch: Data) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean squared error between predicted and true DoS over all bins (the training loss)."""
    pred = model(batch)
    loss = ((pred - batch.y) ** 2).mean()
    return loss, {"mae": float((pred - batch.y).detach().abs().mean())}
