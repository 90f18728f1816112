"""Molecular dynamics with ASE and what to measure on it.

* :func:`run_nve` / :func:`run_langevin` drive an ASE integrator on any calculator and
  record an :class:`MDTrace` (time, potential/kinetic energy, temperature, kept frames);
* :func:`energy_drift` fits the total energy of an NVE run against time (eV/ps);
* :func:`covalent_bonds`, :func:`bond_angle_triples`, :func:`bond_lengths` and
  :func:`bond_angles` turn frames into the internal coordinates whose distributions are
  compared between a learned potential and its reference;
* :func:`histogram_overlap` puts one number on how alike two such distributions are;
* :func:`time_per_call` measures the wall time of one energy+forces call.

Units: Å, eV, fs (ASE's internal time unit is converted at the boundary), K, degrees.
"""

from __future__ import annotations

import time
import timeit
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from ase import Atoms, units

__all__ = [
    "MDTrace",
    "bond_angle_triples",
    "bond_angles",
    "bond_lengths",
    "covalent_bonds",
    "energy_drift",
    "histogram_overlap",
    "kinetic_temperature",
    "molecular_cluster",
    "run_langevin",
    "run_nve",
    "time_per_call",
]


@dataclass
class MDTrace:
    """What an MD run recorded: one entry per step (``time_fs``, energies, temperature) and
    the positions of every ``record_every``-th step (``positions``, (F, N, 3) Å)."""

    time_fs: np.ndarray  # (S,)
    epot: np.ndarray  # (S,) eV
    ekin: np.ndarray  # (S,) eV
    temperature_K: np.ndarray  # (S,)
    positions: np.ndarray  # (F, N, 3) Å
    seconds: float  # wall time of the run

    @property
    def etot(self) -> np.ndarray:
        """Total energy (S,) eV."""
        return self.epot + self.ekin

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(len(self.time_fs), 1)


def kinetic_temperature(atoms: Atoms) -> float:
    """Instantaneous temperature (K) from the kinetic energy with the centre-of-mass motion
    removed: ``T = 2 E_kin / ((3N - 3) k_B)``, the degrees of freedom of a free molecule
    whose centre of mass is fixed (rotations are thermal, so they are counted)."""
    if len(atoms) < 2:
        raise ValueError("a temperature needs at least 2 atoms (3N - 3 > 0 degrees of freedom)")
    m = atoms.get_masses()[:, None]
    p = atoms.get_momenta()
    p = p - m * (p.sum(0) / m.sum())
    ekin = 0.5 * float((p**2 / m).sum())
    return 2.0 * ekin / ((3 * len(atoms) - 3) * units.kB)


def _check_run(atoms: Atoms, steps: int, dt_fs: float, record_every: int) -> None:
    if atoms.calc is None:
        raise ValueError("the atoms have no calculator; set atoms.calc first (e.g. an EquivariantCalculator)")
    if steps < 1 or dt_fs <= 0 or record_every < 1:
        raise ValueError(f"need steps >= 1, dt_fs > 0 and record_every >= 1; got {steps}, {dt_fs}, {record_every}")


def _integrate(atoms: Atoms, dyn, steps: int, record_every: int) -> MDTrace:
    dt_fs = dyn.dt / units.fs
    t, epot, ekin, temp = (np.empty(steps) for _ in range(4))
    frames: list[np.ndarray] = []
    start = time.perf_counter()
    for s in range(steps):
        dyn.run(1)
        t[s] = (s + 1) * dt_fs
        epot[s] = atoms.get_potential_energy()
        ekin[s] = atoms.get_kinetic_energy()
        temp[s] = kinetic_temperature(atoms)
        if not np.isfinite(epot[s]):
            raise FloatingPointError(f"the potential energy became {epot[s]} at step {s + 1}: the "
                                     "structure blew apart; use a smaller time step or a better-trained model")
        if (s + 1) % record_every == 0:
            frames.append(atoms.get_positions())
    seconds = time.perf_counter() - start
    positions = np.array(frames) if frames else np.empty((0, len(atoms), 3))
    return MDTrace(t, epot, ekin, temp, positions, seconds)


def _thermalize(atoms: Atoms, temperature_K: float, rng: np.random.Generator) -> None:
    from ase.md.velocitydistribution import Stationary, ZeroRotation

    try:
        from ase.md.velocitydistribution import thermalize_momenta  # ASE >= 3.29
    except ImportError:  # older ASE
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution as thermalize_momenta
    thermalize_momenta(atoms, temperature_K=temperature_K, rng=rng)
    Stationary(atoms)
    ZeroRotation(atoms)


def run_nve(atoms: Atoms, steps: int, dt_fs: float = 0.5, temperature_K: float = 300.0, seed: int = 0,
            record_every: int = 10) -> MDTrace:
    """Velocity-Verlet (constant N, V, E) from Maxwell-Boltzmann velocities at ``temperature_K``
    (no net momentum or rotation). ``atoms`` (with a calculator) is moved in place."""
    from ase.md.verlet import VelocityVerlet

    _check_run(atoms, steps, dt_fs, record_every)
    _thermalize(atoms, temperature_K, np.random.default_rng(seed))
    return _integrate(atoms, VelocityVerlet(atoms, timestep=dt_fs * units.fs), steps, record_every)


def run_langevin(atoms: Atoms, steps: int, temperature_K: float, dt_fs: float = 0.5,
                 friction_per_fs: float = 0.01, fixcm: bool = False, seed: int = 0,
                 record_every: int = 10) -> MDTrace:
    """Langevin dynamics at ``temperature_K``. ``fixcm=False`` (default) lets the thermostat act
    on every degree of freedom and holds the centre of mass with ``FixCom``; ASE's default
    ``fixcm=True`` runs a small molecule hot (compare both: notebook 04)."""
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin

    _check_run(atoms, steps, dt_fs, record_every)
    rng = np.random.default_rng(seed)
    if not fixcm:
        atoms.set_constraint(FixCom())
    _thermalize(atoms, temperature_K, rng)
    dyn = Langevin(atoms, dt_fs * units.fs, temperature_K=temperature_K,
                   friction=friction_per_fs / units.fs, fixcm=fixcm, rng=rng)
    try:
        return _integrate(atoms, dyn, steps, record_every)
    finally:
        if not fixcm:
            atoms.set_constraint()


def energy_drift(trace: MDTrace, n_atoms: int) -> dict[str, float]:
    """Least-squares slope of the total energy against time: ``drift`` in eV/ps and
    meV/atom/ps, and the RMS fluctuation about the fitted line (meV/atom)."""
    t_ps = trace.time_fs / 1000.0
    if len(t_ps) < 2:
        raise ValueError("an energy drift needs at least 2 steps")
    slope, intercept = np.polyfit(t_ps, trace.etot, 1)
    resid = trace.etot - (slope * t_ps + intercept)
    return {"drift_eV_per_ps": float(slope), "drift_meV_per_atom_per_ps": 1000.0 * float(slope) / n_atoms,
            "fluctuation_meV_per_atom": 1000.0 * float(resid.std()) / n_atoms,
            "duration_ps": float(t_ps[-1])}


def covalent_bonds(atoms: Atoms, scale: float = 1.2) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, ``i < j``, closer than ``scale`` times the sum of their covalent radii
    (``ase.data.covalent_radii``): the bonds of a molecule near its equilibrium geometry."""
    from ase.data import covalent_radii

    pos, r = atoms.get_positions(), covalent_radii[atoms.numbers]
    d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
    i, j = np.nonzero(np.triu(d < scale * (r[:, None] + r[None]), k=1))
    return list(zip(i.tolist(), j.tolist(), strict=True))


def bond_angle_triples(bonds: Sequence[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """Angles ``(i, j, k)`` with ``j`` bonded to both ``i`` and ``k`` (``i < k``)."""
    neighbours: dict[int, set[int]] = {}
    for a, b in bonds:
        neighbours.setdefault(a, set()).add(b)
        neighbours.setdefault(b, set()).add(a)
    return [(i, j, k) for j in sorted(neighbours) for i in sorted(neighbours[j])
            for k in sorted(neighbours[j]) if i < k]


def bond_lengths(positions: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """Positions (F, N, 3) Å and pairs (P,) -> distances (F, P) Å."""
    idx = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    return np.linalg.norm(positions[:, idx[:, 1]] - positions[:, idx[:, 0]], axis=-1)


def bond_angles(positions: np.ndarray, triples: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """Positions (F, N, 3) Å and triples ``(i, j, k)`` (T,) -> angles i-j-k (F, T) in degrees."""
    idx = np.asarray(triples, dtype=np.int64).reshape(-1, 3)
    u = positions[:, idx[:, 0]] - positions[:, idx[:, 1]]
    v = positions[:, idx[:, 2]] - positions[:, idx[:, 1]]
    cos = (u * v).sum(-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def histogram_overlap(a: np.ndarray, b: np.ndarray, bins: int = 40) -> float:
    """Overlap of two normalised histograms on a common range, ``sum_k min(p_k, q_k)``:
    1 for identical distributions, 0 for disjoint ones."""
    a, b = np.ravel(a), np.ravel(b)
    if a.size == 0 or b.size == 0:
        raise ValueError("histogram_overlap needs two non-empty samples")
    edges = np.histogram_bin_edges(np.concatenate([a, b]), bins=bins)
    p = np.histogram(a, edges)[0] / a.size
    q = np.histogram(b, edges)[0] / b.size
    return float(np.minimum(p, q).sum())


def time_per_call(fn: Callable[[], object], calls: int = 50, warmup: int = 3,
                  clock: Callable[[], float] = time.perf_counter) -> float:
    """Median time (s) of ``fn()`` over ``calls`` calls after ``warmup`` untimed ones, by
    ``clock``: wall time by default, ``time.process_time`` for the CPU time of this process
    (steadier on a shared machine)."""
    for _ in range(warmup):
        fn()
    return float(np.median(timeit.repeat(fn, timer=clock, number=1, repeat=calls)))


def molecular_cluster(molecule: Atoms, n: int, spacing: float = 4.5, seed: int = 0) -> Atoms:
    """``n`` randomly rotated copies of ``molecule`` centred on a cubic grid ``spacing`` Å apart:
    a dense, non-periodic cluster (each copy has neighbours within a few Å, as in a liquid), for
    timing how a method's cost grows with the number of atoms."""
    if n < 1:
        raise ValueError(f"n must be at least 1 molecule, got {n}")
    from scipy.spatial.transform import Rotation

    x = molecule.get_positions() - molecule.get_positions().mean(axis=0)
    side = int(np.ceil(n ** (1 / 3) - 1e-9))
    grid = np.array([(i, j, k) for i in range(side) for j in range(side) for k in range(side)][:n], dtype=float)
    rot = Rotation.random(n, random_state=seed).as_matrix().reshape(n, 3, 3)
    positions = np.concatenate([x @ r.T + spacing * g for r, g in zip(rot, grid)])
    return Atoms(numbers=np.tile(molecule.get_atomic_numbers(), n), positions=positions)
