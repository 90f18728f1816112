"""An ASE calculator on the potential: energy (eV) and forces (eV/Å) for molecular dynamics."""

from __future__ import annotations

import torch
from ase.calculators.calculator import Calculator, all_changes

from ..graphs import atoms_to_data
from .model import EquivariantPotential

__all__ = ["EquivariantCalculator"]


class EquivariantCalculator(Calculator):
    """ASE calculator: energy (eV) and forces (eV/Å) from an :class:`EquivariantPotential`.

    The radius graph is rebuilt at every call (``r_max`` of the model), so atoms may enter
    and leave each other's cutoff during a molecular dynamics run.
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, model: EquivariantPotential, device: str | torch.device = "cpu", **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.dtype = next(p.dtype for p in model.parameters() if p.is_floating_point())

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        data = atoms_to_data(self.atoms, r_max=self.model.r_max)
        data.pos = data.pos.to(self.dtype)
        data.cell = data.cell.to(self.dtype)
        data.edge_shift = data.edge_shift.to(self.dtype)
        energy, forces = self.model.energy_forces(data.to(self.device))
        e = float(energy.detach().sum())
        self.results = {"energy": e, "free_energy": e,
                        "forces": forces.detach().cpu().double().numpy()}
