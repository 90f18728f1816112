"""The other route to a phonon DoS: force constants of an interatomic potential (for example
a pretrained universal one) by finite displacements, with phonopy (optional dependency)."""

from __future__ import annotations

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator

__all__ = ["THZ_TO_CM1", "potential_phonon_dos"]

#: 1 THz in cm^-1: 10^12 Hz / (100 c), c in m/s from ase.units
THZ_TO_CM1 = 1e12 / (100 * units._c)


def potential_phonon_dos(atoms: Atoms, calculator: Calculator, freq: np.ndarray, supercell_length: float = 8.0,
                         mesh_length: float = 20.0, sigma: float = 10.0, displacement: float = 0.01) -> np.ndarray:
    """Phonon DoS of a crystal from the Hessian of an interatomic potential (phonopy).

    Finite displacements (``displacement`` Å) in a supercell at least ``supercell_length`` Å
    along each cell vector give the force constants; their phonon frequencies on a q-mesh
    (``mesh_length`` Å, phonopy's automatic mesh) are broadened by Gaussians of width
    ``sigma`` cm^-1 onto the grid ``freq`` (cm^-1) and max-normalised, like the DFPT data.
    Imaginary modes (reported by phonopy as negative frequencies) stay below 0 cm^-1 and
    only touch the first bins through their Gaussian tails.

    Needs the optional package ``phonopy``. Returns the DoS on ``freq`` (n_bins,).
    """
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    cell = np.asarray(atoms.get_cell())
    n_rep = np.maximum(1, np.ceil(supercell_length / np.linalg.norm(cell, axis=1))).astype(int)
    unit = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=cell,
                        scaled_positions=atoms.get_scaled_positions())
    phonon = Phonopy(unit, supercell_matrix=np.diag(n_rep), primitive_matrix="P")
    phonon.generate_displacements(distance=displacement)
    forces = []
    for sc in phonon.supercells_with_displacements or []:
        displaced = Atoms(sc.symbols, cell=sc.cell, scaled_positions=sc.scaled_positions, pbc=True)
        displaced.calc = calculator
        forces.append(displaced.get_forces())
    phonon.forces = np.array(forces)
    phonon.produce_force_constants()
    phonon.run_mesh(mesh_length)
    mesh = phonon.mesh
    if mesh is None or not hasattr(mesh, "frequencies"):
        raise RuntimeError("phonopy returned no frequency mesh; check the phonopy version (needs >= 2.26)")
    nu = np.asarray(mesh.frequencies) * THZ_TO_CM1  # (n_q, 3N) cm^-1
    w = np.asarray(mesh.weights, dtype=float)[:, None] * np.ones_like(nu)
    grid = np.asarray(freq, dtype=float)
    g = (w.ravel()[None, :] * np.exp(-0.5 * ((grid[:, None] - nu.ravel()[None, :]) / sigma) ** 2)).sum(1)
    return g / max(g.max(), 1e-12)
