"""The NequIP-style potential: a thin energy head on the shared backbone.

:class:`EquivariantPotential` follows NequIP (Batzner et al., Nat. Commun. 13, 2453, 2022):

1. **species embedding**: a one-hot vector of the atom's species -> ``mul x 0e`` features;
2. **edges**: spherical harmonics ``Y^l(edge_vec / |edge_vec|)`` for ``l <= l_max`` and a
   Bessel radial basis times a smooth polynomial cutoff at ``r_max`` (Å);
3. **interaction blocks** (:class:`~tutorial_utils.nn.InteractionBlock`): linear mix,
   tensor-product convolution with radial-MLP weights, neighbour sum, linear mix,
   species-dependent self-connection, gate;
4. **readout**: ``E_i = scale * out_i + E_ref[species_i]``, summed over atoms;
5. **forces** ``F = -dE/dx`` by automatic differentiation: conservative by construction.

Steps 1-3 are :class:`~tutorial_utils.nn.EquivariantBackbone`; this module adds 4 and 5.
With ``l_max = 0`` the same code sees only distances (the invariant comparison model).
Units: positions Å, energies eV, forces eV/Å.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from e3nn import o3
from torch_geometric.data import Data

from ..nn import EquivariantBackbone, SpeciesOneHot, hidden_irreps, scatter_sum

__all__ = ["EquivariantPotential"]


class EquivariantPotential(EquivariantBackbone):
    """NequIP-style potential: ``Data`` (pos, z, edge_index) -> total energy per structure (eV).

    Args:
        species: atomic numbers the model knows, e.g. ``[1, 6, 8]`` for ethanol.
        r_max: cutoff radius (Å); graphs must be built with the same value.
        l_max: highest spherical-harmonic degree of the edge filters and features
            (0: invariant model that sees distances only).
        num_layers: number of interaction blocks.
        mul: channels per irrep in the hidden features.
        num_basis: Bessel functions in the radial embedding.
        radial_hidden: width of the radial MLP.
        cutoff_p: exponent of the polynomial cutoff.
        parity: carry both parities of every l (NequIP's default) or only ``(-1)^l``.
        avg_num_neighbors: normalises the neighbour sum (set it from the training data).

    The per-species reference energies ``atomic_energies`` (eV) and the ``scale`` of the
    network's output (eV; the RMS force component times 1 Å) are buffers, set from data by
    :func:`~tutorial_utils.potential.loss.fit_energy_reference`; the reference part of the
    energy is added in float64 so that a total of thousands of eV keeps its meV digits when
    the network runs in float32.
    """

    atomic_energies: torch.Tensor  # (S,) eV, float64 buffer
    scale: torch.Tensor  # () eV, float64 buffer

    def __init__(self, species: Sequence[int], r_max: float = 4.0, l_max: int = 1, num_layers: int = 3,
                 mul: int = 16, num_basis: int = 8, radial_hidden: int = 32, cutoff_p: int = 6,
                 parity: bool = False, avg_num_neighbors: float = 8.0) -> None:
        species_onehot = SpeciesOneHot(species)
        if mul < 1:
            raise ValueError(f"need mul >= 1, got {mul}")
        num_species = len(species_onehot.species)
        super().__init__(num_species, num_species, hidden_irreps(mul, l_max, parity), r_max, l_max, num_layers,
                         num_basis, radial_hidden, cutoff_p, avg_num_neighbors)
        self.species_onehot = species_onehot
        self.species = species_onehot.species
        self.l_max = int(l_max)
        self.register_buffer("atomic_energies", torch.zeros(num_species, dtype=torch.float64))
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))
        self.readout = o3.Linear(self.irreps_out, "1x0e")  # keeps only the 0e channels

    def species_index(self, z: torch.Tensor) -> torch.Tensor:
        """Atomic numbers (N,) -> row of the one-hot (N,), with a clear error for unknown ones."""
        return self.species_onehot.index(z)

    def atomic_energies_of(self, data: Data) -> torch.Tensor:
        """Per-atom energies (N,) in eV, network part only (without the reference energies)."""
        onehot = self.species_onehot(data.z, data.pos.dtype)  # (N, S): embedding input and attributes
        h = self.features(data, onehot, onehot)  # (N, irreps_hidden.dim): the backbone
        return self.readout(h).squeeze(-1) * self.scale.to(h.dtype)

    def forward(self, data: Data) -> torch.Tensor:
        """Total energy (B,) in eV, float64 (B = number of structures in the batch)."""
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(data.pos.shape[0], dtype=torch.long, device=data.pos.device)
        num_graphs = int(batch.max()) + 1 if batch.numel() else 1
        e_atom = self.atomic_energies_of(data).to(torch.float64)
        e_atom = e_atom + self.atomic_energies[self.species_index(data.z)]
        return scatter_sum(e_atom, batch, num_graphs)

    def energy_forces(self, data: Data, create_graph: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Energies (B,) eV and forces ``-dE/dpos`` (N, 3) eV/Å.

        ``create_graph=True`` keeps the graph of the forces, for training on them.
        """
        if not data.pos.requires_grad:
            data = data.clone()
            data.pos = data.pos.detach().requires_grad_(True)
        with torch.enable_grad():
            energy = self(data)
            (grad,) = torch.autograd.grad(energy.sum(), data.pos, create_graph=create_graph)
        return energy, -grad
