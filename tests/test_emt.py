"""TorchEMT against ASE's EMT (energy, per-atom energies, forces, stress) and forces = -dE/dx."""

import numpy as np
import pytest
from ase.build import bulk
from ase.calculators.emt import EMT

from tutorial_utils.lessons.emt import TorchEMT


def _distorted_copper():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat(2)
    atoms.rattle(0.12, seed=3)
    strain = np.eye(3) + 0.02 * np.random.default_rng(1).normal(size=(3, 3))
    atoms.set_cell(atoms.cell.array @ strain, scale_atoms=True)
    return atoms


def test_matches_ase_emt():
    ref, new = _distorted_copper(), _distorted_copper()
    ref.calc, new.calc = EMT(), TorchEMT()
    assert abs(ref.get_potential_energy() - new.get_potential_energy()) < 1e-9
    assert np.abs(ref.get_potential_energies() - new.get_potential_energies()).max() < 1e-9
    assert np.abs(ref.get_forces() - new.get_forces()).max() < 1e-9
    assert np.abs(ref.get_stress() - new.get_stress()).max() < 1e-10
    assert np.abs(new.get_forces()).max() > 0.1  # a real test: the forces are not zero


def test_forces_are_minus_energy_gradient():
    atoms = _distorted_copper()
    atoms.calc = TorchEMT()
    forces = atoms.get_forces()
    h = 1e-5
    for a, k in [(0, 0), (5, 1), (17, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.calc, minus.calc = TorchEMT(), TorchEMT()
        plus.positions[a, k] += h
        minus.positions[a, k] -= h
        numeric = -(plus.get_potential_energy() - minus.get_potential_energy()) / (2 * h)
        assert abs(numeric - forces[a, k]) < 1e-6


def test_clear_errors():
    alloy = bulk("Cu", "fcc", a=3.6, cubic=True)
    alloy[0].symbol = "Au"
    alloy.calc = TorchEMT()
    with pytest.raises(ValueError, match="one element"):
        alloy.get_potential_energy()
    cluster = bulk("Cu", "fcc", a=3.6, cubic=True)
    cluster.pbc = False
    cluster.calc = TorchEMT()
    with pytest.raises(ValueError, match="periodic"):
        cluster.get_potential_energy()
