"""The other route to a phonon DoS: force constants of an interatomic potential (for example
a pretrained universal one) by finite displacements, with phonopy (optional dependency)."""

from __future__ import annotations

import numpy as np
from ase import Atoms, units
from ase.calculators.calculator import Calculator

__all__ = ["THZ_TO_CM1", "broadened_dos", "potential_phonon_dos", "potential_phonon_modes", "relax_with_potential",
           "savgol_dos"]

#: 1 THz in cm^-1: 10^12 Hz / (100 c), c in m/s from ase.units
THZ_TO_CM1 = 1e12 / (100 * units._c)


def relax_with_potential(atoms: Atoms, calculator: Calculator, fmax: float = 0.005, max_steps: int = 300,
                         ) -> tuple[Atoms, dict[str, float]]:
    """Relax positions and cell of a crystal with an interatomic potential, keeping its space group.

    Phonons are only meaningful at a minimum of the potential that computes them: a structure
    relaxed with another method (here PBEsol DFT) sits off the potential's minimum, and the
    residual forces and stress show up as soft or imaginary modes. The cell and positions move
    together (``ase.filters.FrechetCellFilter``) under ``ase.constraints.FixSymmetry``, with FIRE,
    until every force and stress component is below ``fmax`` (eV/Å) or ``max_steps`` steps.

    Returns the relaxed copy and ``{"steps", "converged", "volume_change"}`` (relative change
    of the cell volume, V_relaxed / V - 1).
    """
    from ase.constraints import FixSymmetry
    from ase.filters import FrechetCellFilter
    from ase.optimize import FIRE

    relaxed = atoms.copy()
    relaxed.calc = calculator
    relaxed.set_constraint(FixSymmetry(relaxed))
    opt = FIRE(FrechetCellFilter(relaxed), logfile=None)
    converged = bool(opt.run(fmax=fmax, steps=max_steps))
    relaxed.set_constraint()
    info = {"steps": float(opt.nsteps), "converged": float(converged),
            "volume_change": float(relaxed.get_volume() / atoms.get_volume() - 1.0)}
    return relaxed, info


def potential_phonon_modes(atoms: Atoms, calculator: Calculator, supercell_length: float = 8.0,
                           mesh_length: float = 20.0, displacement: float = 0.01) -> tuple[np.ndarray, np.ndarray]:
    """Harmonic phonon frequencies of a crystal on a q-point mesh from an interatomic potential.

    Finite displacements (``displacement`` Å) in a supercell at least ``supercell_length`` Å
    along each cell vector give the force constants (phonopy); the dynamical matrix is
    diagonalised on phonopy's automatic mesh of length ``mesh_length`` Å. Imaginary modes are
    reported by phonopy as negative frequencies.

    Needs the optional package ``phonopy``. Returns the frequencies (n_q, 3N) in cm^-1 and the
    q-point weights (n_q,).
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
    return np.asarray(mesh.frequencies) * THZ_TO_CM1, np.asarray(mesh.weights, dtype=float)


def broadened_dos(nu: np.ndarray, weights: np.ndarray, freq: np.ndarray, sigma: float = 10.0) -> np.ndarray:
    """Gaussians of width ``sigma`` cm^-1 at the mode frequencies ``nu`` (n_q, n_modes) cm^-1,
    weighted by their q-points' ``weights`` (n_q,), on the grid ``freq`` (n_bins,) cm^-1 and
    max-normalised like the DFPT data: (n_bins,). Modes below 0 (imaginary) only touch the
    first bins through their tails."""
    if sigma <= 0:
        raise ValueError(f"sigma must be a positive width in cm^-1, got {sigma}")
    nu = np.asarray(nu, dtype=float)
    w = np.asarray(weights, dtype=float)[:, None] * np.ones_like(nu)
    grid = np.asarray(freq, dtype=float)
    g = (w.ravel()[None, :] * np.exp(-0.5 * ((grid[:, None] - nu.ravel()[None, :]) / sigma) ** 2)).sum(1)
    return g / max(g.max(), 1e-12)


def savgol_dos(nu: np.ndarray, weights: np.ndarray, freq: np.ndarray, window_cm1: float = 101.0,
               base_sigma: float = 3.0) -> np.ndarray:
    """Mode frequencies turned into a DoS the way the phonon data set was processed.

    Chen et al. (2021; their code's notes, repository zhantaochen/phonondos_e3nn) took each DFPT
    DoS on a grid of about 1 cm^-1, smoothed it with a Savitzky-Golay filter (window 101
    points, cubic), read it at 0, 20, ..., 1000 cm^-1 and divided by its maximum. Here the
    modes ``nu`` (n_q, n_modes) cm^-1 with q-weights ``weights`` (n_q,) are first put on a
    1 cm^-1 grid as narrow Gaussians (``base_sigma`` cm^-1, an assumption: the filter's window
    dominates), then filtered the same way (``window_cm1`` points), clipped at zero and read at
    ``freq`` (n_bins,) cm^-1: returns (n_bins,), maximum 1.
    """
    from scipy.signal import savgol_filter

    fine = np.arange(0.0, max(float(np.max(freq)), float(np.max(nu))) + 2 * window_cm1, 1.0)
    g = broadened_dos(nu, weights, fine, base_sigma)
    window = int(window_cm1) | 1  # an odd number of 1 cm^-1 points
    smooth = np.clip(savgol_filter(g, window_length=window, polyorder=3), 0.0, None)
    out = np.interp(np.asarray(freq, dtype=float), fine, smooth)
    return out / max(out.max(), 1e-12)


def potential_phonon_dos(atoms: Atoms, calculator: Calculator, freq: np.ndarray, supercell_length: float = 8.0,
                         mesh_length: float = 20.0, sigma: float = 10.0, displacement: float = 0.01) -> np.ndarray:
    """Phonon DoS (n_bins,) of a crystal on the grid ``freq`` (cm^-1) from the Hessian of an
    interatomic potential: :func:`potential_phonon_modes` broadened by :func:`broadened_dos`
    (Gaussians of width ``sigma`` cm^-1, max-normalised like the DFPT data). Needs ``phonopy``."""
    nu, weights = potential_phonon_modes(atoms, calculator, supercell_length, mesh_length, displacement)
    return broadened_dos(nu, weights, freq, sigma)
