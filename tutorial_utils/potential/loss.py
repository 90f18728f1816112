"""Reference energies and the energy-force loss of the potential.

Units: energies eV, forces eV/Å.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch_geometric.data import Data

from .model import EquivariantPotential

__all__ = ["energy_force_loss", "fit_energy_reference"]


def fit_energy_reference(model: EquivariantPotential, data_list: Sequence[Data]) -> dict[str, float]:
    """Set ``model.atomic_energies`` by least squares (E_total ~ sum of per-species energies) and
    ``model.scale`` to the RMS force component (eV/Å x 1 Å: the network then predicts numbers of
    order one). Returns the fitted values and the RMS energy residual (eV).

    The fit starts from the mean energy per atom (the same for every species) and adds the
    least-squares correction of smallest norm. For a data set of one molecule every structure
    has the same composition, so only the sum is determined and every species keeps the mean
    energy per atom; with varied compositions the species separate.
    """
    if not data_list:
        raise ValueError("fit_energy_reference needs at least one structure")
    counts = np.zeros((len(data_list), len(model.species)))
    energies = np.zeros(len(data_list))
    forces = []
    for k, d in enumerate(data_list):
        idx = model.species_index(d.z).cpu().numpy()
        counts[k] = np.bincount(idx, minlength=len(model.species))
        energies[k] = float(d.energy.reshape(-1)[0])
        forces.append(d.forces.detach().cpu().double().reshape(-1).numpy())
    e_per_atom = energies.sum() / counts.sum()
    correction, *_ = np.linalg.lstsq(counts, energies - counts.sum(1) * e_per_atom, rcond=None)
    ref = e_per_atom + correction
    residual = energies - counts @ ref
    f_rms = float(np.sqrt(np.mean(np.concatenate(forces) ** 2)))
    with torch.no_grad():
        model.atomic_energies.copy_(torch.as_tensor(ref, dtype=torch.float64))
        model.scale.fill_(f_rms if f_rms > 0 else 1.0)
    return {"scale": f_rms, "energy_rms_after_reference": float(np.sqrt(np.mean(residual**2))),
            **{f"E_ref[Z={z}]": float(e) for z, e in zip(model.species, ref, strict=True)}}


def energy_force_loss(energy_weight: float = 1.0, force_weight: float = 10.0
                      ) -> Callable[[EquivariantPotential, Data], tuple[torch.Tensor, dict[str, float]]]:
    """Loss for :func:`tutorial_utils.training.train` (use it with ``eval_grad=True``):

    ``energy_weight * mean((dE / N_atoms)^2) + force_weight * mean(dF^2)`` (eV^2/atom^2, eV^2/Å^2),
    with metrics ``energy_mae_meV_per_atom`` and ``force_mae_meV_per_A``.
    """

    def loss_fn(model: EquivariantPotential, batch: Data) -> tuple[torch.Tensor, dict[str, float]]:
        energy, forces = model.energy_forces(batch, create_graph=model.training)
        n_atoms = torch.bincount(batch.batch, minlength=energy.shape[0]) if getattr(batch, "batch", None) \
            is not None else torch.tensor([batch.pos.shape[0]], device=energy.device)
        de = (energy - batch.energy.reshape(-1).to(energy.dtype)) / n_atoms.to(energy.dtype)
        df = forces - batch.forces.to(forces.dtype)
        loss = energy_weight * (de**2).mean() + force_weight * (df**2).mean()
        metrics = {"energy_mae_meV_per_atom": 1000 * float(de.abs().mean().detach()),
                   "force_mae_meV_per_A": 1000 * float(df.abs().mean().detach())}
        return loss, metrics

    return loss_fn
