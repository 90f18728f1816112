"""Crystals as periodic graphs with element and mass features, for the phonon DoS network.

A site shared by several elements (an alloy) gets the *weighted* mixture of their
encodings. Units: distances Å, masses atomic mass units (u).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from ase import Atoms
from torch_geometric.data import Data

from ..graphs import atoms_to_data

__all__ = ["MASS_SCALE", "N_ELEMENTS", "SiteSpecies", "crystal_to_data", "node_features"]

N_ELEMENTS = 118  # one-hot slots: atomic numbers 1..118
MASS_SCALE = 100.0  # u; masses enter the network as mass / MASS_SCALE

SiteSpecies = Mapping[int, float]  # {atomic number: fraction} for one site


def node_features(site_species: Sequence[SiteSpecies]) -> torch.Tensor:
    """Weighted element encoding and mass of each site: (N, 119) in the default dtype.

    ``site_species[i]`` maps atomic numbers to fractions summing to 1 (``{12: 1.0}`` for a
    Mg site, ``{51: 0.7, 83: 0.3}`` for a site shared by Sb and Bi). Columns 0..117 hold the
    fractions at slot Z-1 (a one-hot vector for an ordinary site); column 118 holds the
    mean mass sum_Z f_Z m_Z / MASS_SCALE.
    """
    from ase.data import atomic_masses

    if len(site_species) == 0:
        raise ValueError("the structure has no sites; a crystal needs at least one atom")
    x = torch.zeros(len(site_species), N_ELEMENTS + 1, dtype=torch.float64)
    for i, species in enumerate(site_species):
        total = float(sum(species.values()))
        if not species or abs(total - 1.0) > 1e-6:
            raise ValueError(f"site {i}: the element fractions {dict(species)} must sum to 1, got {total}")
        for z, f in species.items():
            z = int(z)
            if not 1 <= z <= N_ELEMENTS:
                raise ValueError(f"site {i}: atomic number {z} is not an element (valid: 1 to 118)")
            if f < 0:
                raise ValueError(f"site {i}: fraction {f} of element {z} is negative")
            x[i, z - 1] += f
            x[i, N_ELEMENTS] += f * float(atomic_masses[z]) / MASS_SCALE
    return x.to(torch.get_default_dtype())


def crystal_to_data(atoms: Atoms, r_max: float, dos: np.ndarray | None = None,
                    site_species: Sequence[SiteSpecies] | None = None, **extra: torch.Tensor) -> Data:
    """A crystal (``ase.Atoms`` with a full periodic cell) as a periodic radius graph with
    element+mass features.

    Adds ``x`` (N, 119) from :func:`node_features` (``site_species`` overrides the
    elements of ``atoms``, for alloys) and, if ``dos`` (51,) is given, the target
    ``y`` (1, 51). See :func:`tutorial_utils.graphs.atoms_to_data` for the other fields.
    A structure without periodic boundaries along all three cell vectors, or with a
    degenerate cell (a molecule), raises ``ValueError``: the DoS model is for crystals.
    """
    pbc = np.asarray(atoms.get_pbc(), dtype=bool)
    volume = abs(float(np.linalg.det(np.asarray(atoms.get_cell())))) if pbc.all() else 0.0
    if not pbc.all() or volume < 1e-6:
        raise ValueError(f"crystal_to_data needs a crystal: periodic along all three cell vectors with a "
                         f"non-zero cell volume, got pbc={pbc.tolist()} and volume {volume:.3g} Å^3. Pass "
                         "a bulk structure (e.g. ase.build.bulk or a Materials Project cell); for a molecule "
                         "use tutorial_utils.graphs.atoms_to_data")
    if site_species is None:
        site_species = [{int(z): 1.0} for z in atoms.get_atomic_numbers()]
    if len(site_species) != len(atoms):
        raise ValueError(f"site_species has {len(site_species)} entries but the crystal has {len(atoms)} atoms")
    if dos is not None:
        y = torch.as_tensor(np.asarray(dos, dtype=np.float64)).to(torch.get_default_dtype()).view(1, -1)
        extra["y"] = y
    return atoms_to_data(atoms, r_max, x=node_features(site_species), **extra)
