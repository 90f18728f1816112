"""Make the water-cluster electron-density data set: xTB droplet MD, cut clusters, DFT, density fit.

One command re-makes (or finishes) the whole data set; it resumes where it stopped:

    python data/water/generate.py                   # md, then label, then pack, then summary
    python data/water/generate.py label --workers 1 --threads 1 --stop-at 03:10
    python data/water/generate.py summary           # clusters made, timings, sha256 of every file

Needs the ``data`` extra: ``pip install -e ".[data]"`` (pyscf and tblite).

Steps
-----
1. ``md``: Langevin molecular dynamics of a droplet of ``N_DROPLET`` water molecules with
   GFN2-xTB (tblite's ASE calculator) at 300 K, held together by a soft spherical wall on the
   oxygens (flat-bottomed, harmonic beyond ``WALL_RADIUS_A``). Hydrogens carry the deuterium
   mass so that 1 fs steps are stable: the configurations of classical canonical sampling
   do not depend on the masses. The start (molecules on a grid) is relaxed by a few FIRE
   steps, 0.5 ps of MD is discarded, then one snapshot is kept every ``STRIDE_FS``. Two
   independent trajectories (own seeds): one for the training pool, one for the held-out
   sets (``test``, then ``large`` from later snapshots). Output: ``xtb_<trajectory>.npz``.
2. ``label``: from each snapshot, clusters of the ``n`` molecules nearest (by O-O distance) to a
   randomly chosen central molecule, for the sizes of the set. Each cluster: PBE0/def2-SVP
   (restricted Kohn-Sham, density fitting with def2-universal-jkfit), then the converged
   density fitted onto def2-universal-jfit in the Coulomb metric (exact 3-centre integrals,
   ``c = J^-1 (P|rho)``, ``tutorial_utils.density.fit_density_pyscf``), the coefficients converted to e3nn's conventions
   (``tutorial_utils.density``), and the fitting floor ``eps_rho = int |rho_fit - rho_DFT| / N``
   measured on the DFT integration grid. For the held-out sets the DFT density matrix is kept
   too (e3nn layout, float32), so that a model can be compared with the DFT density itself.
   One part file per snapshot:
   ``dft_<set>_s<k>.npz`` (k: snapshot of the set's trajectory); parts are made in an order
   that interleaves the sets (the costly 15- and 20-molecule clusters first), so a run
   stopped early leaves every set with some clusters.
3. ``pack``: one file per set, ``water_<set>.npz``, concatenating its finished parts.

Every npz holds only numeric and string arrays (load with ``allow_pickle=False``) and a
``metadata`` entry (a JSON string: level of theory, units, seeds, versions). Clusters have
different sizes, so per-atom and per-coefficient arrays are concatenated over clusters, with
``n_atoms`` and ``n_coefficients`` per cluster to cut them apart. Units: positions Å, energies
eV, dipoles e Å, densities e / Å^3, coefficients atomic units (see ``tutorial_utils.density``).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools/ and tutorial_utils, also when not installed
from tools import datagen as generation  # noqa: E402
from tools.datagen import claim, load_npz, now_utc, save_npz, versions  # noqa: E402

HERE = Path(__file__).resolve().parent
N_DROPLET = 24  # water molecules in the MD droplet
SPACING_A = 3.1  # start: molecules on a cubic grid of this spacing, cut to a sphere
WALL_RADIUS_A = 7.0  # flat-bottomed spherical wall on the O atoms (droplet radius about 5.5 Å)
WALL_K = 1.0  # eV / Å^2 beyond the wall
TEMPERATURE_K = 300.0
TIMESTEP_FS = 1.0
HYDROGEN_MASS = 2.014  # deuterium mass for the MD only (configurations are mass independent)
FRICTION_PER_FS = 0.01
RELAX_STEPS = 60  # FIRE steps on the start structure before the MD
EQUILIBRATION_FS = 500.0
STRIDE_FS = 100.0
PROBES = 32  # points per cluster where the fitted and DFT densities are stored, for tests
XC, BASIS, JK_AUXBASIS, FIT_AUXBASIS = "PBE0", "def2-svp", "def2-universal-jkfit", "def2-universal-jfit"
LEVEL_OF_THEORY = (f"{XC}/def2-SVP, restricted Kohn-Sham, density fitting ({JK_AUXBASIS}); "
                   f"density fitted onto {FIT_AUXBASIS} in the Coulomb metric")
VERSIONED = ("ase", "tblite", "pyscf", "e3nn", "torch")  # package versions every file records
LICENCE = "CC BY 4.0 (data made by this project; compatible with the code's MIT licence)"


@dataclasses.dataclass(frozen=True)
class TrajSpec:
    """One droplet trajectory: snapshots kept after equilibration, random seed."""

    n_snapshots: int
    seed: int


@dataclasses.dataclass(frozen=True)
class SetSpec:
    """One subset: the trajectory and snapshots it uses, the cluster sizes cut from each."""

    trajectory: str
    snapshots: tuple[int, ...]
    sizes: tuple[int, ...]
    role: str
    store_density_matrix: bool = False  # held-out sets: the DFT density itself, for eps_rho vs DFT


TRAJECTORIES: dict[str, TrajSpec] = {"train": TrajSpec(24, seed=1), "heldout": TrajSpec(12, seed=2)}
# DFT cost grows about as n^2.5 (PBE0, one core: 7 s for 3 molecules, 170 s for 10, ~1000 s for
# 20), so the training pool draws most clusters from the cheap small sizes: every size 3-10 from
# three snapshots, then nine clusters of 3-7 molecules from each further snapshot.
SETS: dict[str, SetSpec] = {
    "train": SetSpec("train", (0, 1, 2), tuple(range(3, 11)), role="training pool, 3-10 molecules"),
    "train_small": SetSpec("train", tuple(range(3, 24)), (3, 3, 4, 4, 5, 5, 6, 6, 7),
                           role="training pool, 3-7 molecules (more clusters per CPU hour)"),
    # issue 17: larger training clusters, as Rackers et al. (2023) trained on 12-molecule ones;
    # three distinct centres per snapshot (10, 11, 12 molecules), about 600 CPU s per snapshot
    "train_medium": SetSpec("train", tuple(range(3, 13)), (10, 11, 12),
                            role="training pool, 10-12 molecules (larger training clusters)"),
    "test": SetSpec("heldout", (0, 1, 2, 3), tuple(range(3, 11)),
                    role="held-out, 3-10 molecules, a trajectory of its own", store_density_matrix=True),
    "large": SetSpec("heldout", (10, 11), (15, 20), store_density_matrix=True,
                     role="held-out, 15 and 20 molecules (size extrapolation); later snapshots than test"),
}


# --------------------------------------------------------------------------- helpers












def md_path(out: Path, name: str) -> Path:
    return out / f"xtb_{name}.npz"


def part_path(out: Path, name: str, k: int) -> Path:
    return out / f"dft_{name}_s{k:02d}.npz"


# --------------------------------------------------------------------------- step 1: MD


def start_droplet(n: int, rng: np.random.Generator):
    """``n`` randomly oriented water molecules on the grid points nearest the origin."""
    from ase import Atoms
    from ase.build import molecule

    g = np.arange(-4, 5) * SPACING_A
    grid = np.array(np.meshgrid(g, g, g, indexing="ij")).reshape(3, -1).T
    grid = grid[np.argsort(np.linalg.norm(grid, axis=1) + 1e-3 * rng.random(len(grid)))][:n]
    water = molecule("H2O")
    atoms = Atoms()
    for c in grid:
        m = water.copy()
        q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
        m.positions = (m.positions - m.get_center_of_mass()) @ q.T + c
        atoms += m
    return atoms


def spherical_wall(radius: float, k: float):
    """ASE calculator: ``E = k/2 sum_O max(|r_O - c| - radius, 0)^2`` with ``c`` the centroid of
    the oxygens: zero for a compact droplet, it keeps an evaporating molecule in reach."""
    from ase.calculators.calculator import Calculator, all_changes

    class SphericalWall(Calculator):
        implemented_properties = ["energy", "forces"]

        def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
            super().calculate(atoms, properties, system_changes)
            pos = self.atoms.get_positions()
            oxy = self.atoms.get_atomic_numbers() == 8
            d = pos[oxy] - pos[oxy].mean(0)
            r = np.linalg.norm(d, axis=1)
            excess = np.maximum(r - radius, 0.0)
            f = np.zeros_like(pos)
            # the centroid's own dependence on the positions is neglected: a restraint only
            f[oxy] = -k * (excess / np.maximum(r, 1e-12))[:, None] * d
            self.results = {"energy": 0.5 * k * float((excess**2).sum()), "forces": f}

    return SphericalWall()


def run_md(spec: TrajSpec) -> dict:
    """One droplet trajectory with GFN2-xTB; returns the kept snapshots and per-step traces."""
    from ase import units
    from ase.calculators.mixing import SumCalculator
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import MaxwellBoltzmannDistribution, Stationary, ZeroRotation
    from ase.optimize import FIRE
    from tblite.ase import TBLite

    rng = np.random.default_rng(spec.seed)
    atoms = start_droplet(N_DROPLET, rng)
    masses = atoms.get_masses()
    masses[atoms.get_atomic_numbers() == 1] = HYDROGEN_MASS
    atoms.set_masses(masses)
    atoms.set_constraint(FixCom())  # not Langevin(fixcm=True): deprecated, it runs small systems hot
    atoms.calc = SumCalculator([TBLite(method="GFN2-xTB", verbosity=0),
                                spherical_wall(WALL_RADIUS_A, WALL_K)])
    t0 = time.perf_counter()
    FIRE(atoms, logfile=None).run(fmax=0.2, steps=RELAX_STEPS)  # shed the grid start's strain
    relax_wall = time.perf_counter() - t0
    with warnings.catch_warnings():
        # ASE 3.29 suggests thermalize_momenta; kept so that the data set re-makes identically
        warnings.simplefilter("ignore", DeprecationWarning)
        MaxwellBoltzmannDistribution(atoms, temperature_K=TEMPERATURE_K, rng=rng)
    Stationary(atoms)
    ZeroRotation(atoms)
    dyn = Langevin(atoms, TIMESTEP_FS * units.fs, temperature_K=TEMPERATURE_K,
                   friction=FRICTION_PER_FS / units.fs, fixcm=False, rng=rng)
    n_eq = round(EQUILIBRATION_FS / TIMESTEP_FS)
    stride = round(STRIDE_FS / TIMESTEP_FS)
    n_steps = n_eq + spec.n_snapshots * stride
    temps = np.empty(n_steps, np.float32)
    epots = np.empty(n_steps, np.float32)
    pos, e_xtb, t_fs = [], [], []
    t0, c0 = time.perf_counter(), time.process_time()
    for step in range(n_steps):
        dyn.run(1)
        temps[step] = atoms.get_temperature()
        epots[step] = atoms.get_potential_energy()
        done = step + 1 - n_eq
        if done > 0 and done % stride == 0:
            pos.append(atoms.get_positions())
            e_xtb.append(atoms.get_potential_energy())
            t_fs.append((step + 1) * TIMESTEP_FS)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    prod = temps[n_eq:]
    return dict(
        positions=np.array(pos), energy_xtb=np.array(e_xtb), time_fs=np.array(t_fs),
        numbers=atoms.get_atomic_numbers().astype(np.int64), step_temperature_K=temps,
        step_epot_eV=epots,
        stats=dict(n_steps=n_steps, wall_s=wall, cpu_s=cpu, relax_wall_s=relax_wall, xtb_wall_s_per_step=wall / n_steps,
                   xtb_cpu_s_per_step=cpu / n_steps, mean_temperature_K=float(prod.mean()),
                   std_temperature_K=float(prod.std())),
    )


def stage_md(out: Path) -> None:
    for name, spec in TRAJECTORIES.items():
        path = md_path(out, name)
        if path.exists():
            continue
        print(f"[{now_utc()}] md {name}: {N_DROPLET} waters, {TEMPERATURE_K:.0f} K, seed {spec.seed}",
              flush=True)
        r = run_md(spec)
        stats = r.pop("stats")
        meta = dict(
            kind="xtb droplet trajectory", trajectory=name, seed=spec.seed,
            used_by={k: dict(snapshots=list(v.snapshots), sizes=list(v.sizes))
                     for k, v in SETS.items() if v.trajectory == name}, n_molecules=N_DROPLET,
            level_of_theory="GFN2-xTB (tblite)", temperature_K=TEMPERATURE_K,
            thermostat=f"ASE Langevin, friction {FRICTION_PER_FS}/fs, fixcm=False + FixCom",
            timestep_fs=TIMESTEP_FS, hydrogen_mass_amu=HYDROGEN_MASS,
            start=f"{N_DROPLET} molecules on a {SPACING_A} Å cubic grid, random orientations, "
                  f"{RELAX_STEPS} FIRE steps", equilibration_fs=EQUILIBRATION_FS, stride_fs=STRIDE_FS,
            wall=dict(radius_A=WALL_RADIUS_A, k_eV_per_A2=WALL_K, on="O atoms, from their centroid"),
            units=dict(positions="Angstrom", energy="eV", time="fs", temperature="K"),
            stats=stats, versions=versions(VERSIONED), generated_utc=now_utc(), licence=LICENCE,
        )
        save_npz(path, meta, **r)
        print(f"    mean T {stats['mean_temperature_K']:.1f} K, "
              f"{stats['xtb_wall_s_per_step'] * 1e3:.1f} ms/step", flush=True)


# --------------------------------------------------------------------------- step 2: clusters


def cut_cluster(positions: np.ndarray, numbers: np.ndarray, centre: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` molecules whose O is nearest the O of molecule ``centre`` (molecules are
    consecutive O, H, H triples), translated so that their O centroid is at the origin."""
    if not (numbers.reshape(-1, 3) == [8, 1, 1]).all():
        raise ValueError("expected atoms ordered as O, H, H per molecule")
    mols = positions.reshape(-1, 3, 3)
    d = np.linalg.norm(mols[:, 0] - mols[centre, 0], axis=1)
    keep = np.argsort(d, kind="stable")[:n]
    pos = mols[keep].reshape(-1, 3)
    oh = np.linalg.norm(mols[keep, 1:] - mols[keep, :1], axis=2)
    if oh.max() > 1.3:
        raise ValueError(f"an O-H bond of {oh.max():.2f} Å: a molecule is broken")
    return pos - mols[keep, 0].mean(0), np.tile([8, 1, 1], n).astype(np.int64)


def cluster_plan(name: str, k: int) -> list[tuple[int, int]]:
    """(size, central molecule) of every cluster of snapshot ``k``: distinct random centres."""
    spec = SETS[name]
    rng = np.random.default_rng([TRAJECTORIES[spec.trajectory].seed, k, len(spec.sizes)])
    centres = rng.choice(N_DROPLET, size=len(spec.sizes), replace=False)
    return [(n, int(c)) for n, c in zip(spec.sizes, centres, strict=True)]


def density_errors(mol, auxmol, dm: np.ndarray, c: np.ndarray, grids, block: int = 20000) -> dict:
    """Integrals on the DFT grid: electrons of the DFT and fitted densities and
    ``int |rho_fit - rho_DFT|``."""
    from pyscf.dft import numint

    n_dft = n_fit = abs_err = 0.0
    for i in range(0, len(grids.weights), block):
        x, w = grids.coords[i:i + block], grids.weights[i:i + block]
        rho = numint.eval_rho(mol, mol.eval_gto("GTOval_sph", x), dm)
        fit = auxmol.eval_gto("GTOval_sph", x) @ c
        n_dft += float(w @ rho)
        n_fit += float(w @ fit)
        abs_err += float(w @ np.abs(fit - rho))
    return dict(n_dft=n_dft, n_fit=n_fit, abs_err=abs_err)


def label_cluster(positions: np.ndarray, numbers: np.ndarray, threads: int, probe_seed,
                  keep_density_matrix: bool = False) -> dict:
    """DFT + density fit of one cluster; every number that a part file stores about it."""
    from pyscf import df, dft, gto, lib
    from pyscf.data import nist

    from tutorial_utils.density import BasisSet, fit_density_pyscf

    lib.num_threads(threads)
    symbols = [gto.mole._symbol(int(z)) for z in numbers]
    t0, c0 = time.perf_counter(), time.process_time()
    mol = gto.M(atom=list(zip(symbols, positions, strict=True)), basis=BASIS, unit="Angstrom",
                charge=0, spin=0, verbose=0)
    mf = dft.RKS(mol, xc=XC).density_fit(auxbasis=JK_AUXBASIS)
    mf.conv_tol = 1e-9
    mf.max_cycle = 100
    energy = mf.kernel()
    converged = bool(mf.converged)
    if not converged:  # rare: second-order SCF from the last density
        mf = mf.newton()
        energy = mf.kernel(mf.make_rdm1())
        converged = bool(mf.converged)
    dft_wall, dft_cpu = time.perf_counter() - t0, time.process_time() - c0
    dm = mf.make_rdm1()
    dipole_au = mf.dip_moment(unit="AU", verbose=0)
    t1, c1 = time.perf_counter(), time.process_time()
    auxmol = df.addons.make_auxmol(mol, FIT_AUXBASIS)
    c_pyscf = fit_density_pyscf(mol, dm, auxmol)
    errs = density_errors(mol, auxmol, dm, c_pyscf, mf.grids)
    fit_wall, fit_cpu = time.perf_counter() - t1, time.process_time() - c1
    basis = BasisSet.from_pyscf(auxmol, FIT_AUXBASIS)
    n_electrons = int(mol.nelectron)
    # probe points: around random atoms, Gaussian spread 0.6 Å (where the density varies)
    rng = np.random.default_rng(probe_seed)
    probes = positions[rng.integers(len(positions), size=PROBES)] + rng.normal(0, 0.6, (PROBES, 3))
    probes_bohr = probes / nist.BOHR
    probe_fit = auxmol.eval_gto("GTOval_sph", probes_bohr) @ c_pyscf
    probe_dft = numint_rho(mol, dm, probes_bohr)
    extra = {}
    if keep_density_matrix:  # e3nn layout, lower triangle, float32 (relative rounding 6e-8)
        ao_basis = BasisSet.from_pyscf(mol, BASIS)
        dm_e3nn = ao_basis.pyscf_to_e3nn_density_matrix(dm, numbers)
        extra = dict(ao_basis=ao_basis, density_matrix=dm_e3nn[np.tril_indices(len(dm))].astype(np.float32))
    return dict(
        **extra,
        energy=energy * nist.HARTREE2EV, dipole=np.asarray(dipole_au) * nist.BOHR,
        coefficients=basis.pyscf_to_e3nn(c_pyscf, numbers), basis=basis,
        eps_rho=errs["abs_err"] / n_electrons, n_electrons_dft_grid=errs["n_dft"],
        n_electrons_fit_grid=errs["n_fit"], grid_points=len(mf.grids.weights),
        converged=converged, scf_cycles=int(getattr(mf, "cycles", -1)),
        dft_wall_s=dft_wall, dft_cpu_s=dft_cpu, fit_wall_s=fit_wall, fit_cpu_s=fit_cpu,
        probe_points=probes, probe_rho_fit=probe_fit / nist.BOHR**3,
        probe_rho_dft=probe_dft / nist.BOHR**3, grids_level=int(mf.grids.level),
    )


FREE_ATOMS = {8: 2, 1: 1}  # Z -> spin (2S): the ground states O 3P and H 2S


def label_free_atom(z: int, threads: int) -> dict:
    """Unrestricted DFT of one free atom at the level of the clusters, its density (alpha +
    beta) fitted onto the same auxiliary basis and converted to e3nn's layout. The ``0e``
    coefficients are the fit of the spherically averaged density (a one-centre Coulomb fit
    does not mix l), the promolecule reference of notebook 05."""
    from pyscf import df, dft, gto, lib
    from pyscf.data import nist

    from tutorial_utils.density import BasisSet, fit_density_pyscf

    lib.num_threads(threads)
    t0 = time.process_time()
    mol = gto.M(atom=[(gto.mole._symbol(z), (0.0, 0.0, 0.0))], basis=BASIS, spin=FREE_ATOMS[z], charge=0, verbose=0)
    mf = dft.UKS(mol, xc=XC).density_fit(auxbasis=JK_AUXBASIS)
    mf.conv_tol = 1e-10
    energy = mf.kernel()
    if not mf.converged:
        raise RuntimeError(f"the SCF of the free atom Z={z} did not converge")
    dm = mf.make_rdm1()
    dm = dm[0] + dm[1]
    auxmol = df.addons.make_auxmol(mol, FIT_AUXBASIS)
    c_pyscf = fit_density_pyscf(mol, dm, auxmol)
    basis = BasisSet.from_pyscf(auxmol, FIT_AUXBASIS)
    coefficients = basis.pyscf_to_e3nn(c_pyscf, [z])
    return dict(energy=energy * nist.HARTREE2EV, coefficients=coefficients, basis=basis,
                n_electrons_fit=float(basis.electron_counts(z) @ coefficients), cpu_s=time.process_time() - t0)


def stage_atoms(out: Path, threads: int) -> None:
    """``water_atoms.npz``: the free O and H atoms (minutes of CPU at most; skipped if present)."""
    target = out / "water_atoms.npz"
    if target.exists():
        print(f"{target.name}: exists, skipped", flush=True)
        return
    from tutorial_utils.density import BasisSet

    results = {z: label_free_atom(z, threads) for z in FREE_ATOMS}
    merged = BasisSet(results[8]["basis"].name, {z: r["basis"].elements[z] for z, r in results.items()})
    numbers = np.array(sorted(results), np.int64)
    meta = dict(kind="free-atom densities", set="atoms", level_of_theory=LEVEL_OF_THEORY.replace(
        "restricted", "unrestricted"), spins_2S={int(z): FREE_ATOMS[int(z)] for z in numbers},
        units=dict(energy="eV", coefficients="atomic units, e3nn layout (see the clusters' files)"),
        note="the 0e coefficients fit the spherically averaged density; l > 0 parts are those of the "
             "non-spherical ground-state density and are not a promolecule",
        cpu_s={int(z): results[int(z)]["cpu_s"] for z in numbers}, licence="CC BY 4.0",
        generated_utc=now_utc(), versions=versions())
    save_npz(target, meta, numbers=numbers, positions=np.zeros((len(numbers), 3)),
             energy=np.array([results[int(z)]["energy"] for z in numbers]),
             n_electrons_fit=np.array([results[int(z)]["n_electrons_fit"] for z in numbers]),
             coefficients=np.concatenate([results[int(z)]["coefficients"] for z in numbers]),
             **merged.to_arrays())
    for z in numbers:
        r = results[int(z)]
        print(f"{target.name}: Z={z} E = {r['energy']:.4f} eV, fitted electrons {r['n_electrons_fit']:.5f},"
              f" {r['cpu_s']:.1f} CPU s", flush=True)
    write_manifest(out)


def numint_rho(mol, dm: np.ndarray, coords_bohr: np.ndarray) -> np.ndarray:
    from pyscf.dft import numint

    return numint.eval_rho(mol, mol.eval_gto("GTOval_sph", coords_bohr), dm)


def label_part(args: tuple[str, int, str, float, int]) -> tuple[str, str]:
    """Label the clusters of one snapshot and write them; returns (file name, status)."""
    name, k, out_str, deadline, threads = args
    out = Path(out_str)
    path = part_path(out, name, k)
    if path.exists():
        return path.name, "exists"
    if time.time() > deadline:
        return path.name, "skipped (time limit)"
    lock = claim(path)
    if lock is None:
        return path.name, "skipped (another process is labelling it)"
    try:
        return _label_part(name, k, out, threads)
    finally:
        lock.release()




PER_CLUSTER = ("energy", "dipole", "eps_rho", "n_electrons_dft_grid", "n_electrons_fit_grid",
               "grid_points", "converged", "scf_cycles", "dft_wall_s", "dft_cpu_s", "fit_wall_s",
               "fit_cpu_s", "probe_points", "probe_rho_fit", "probe_rho_dft")


def _label_part(name: str, k: int, out: Path, threads: int) -> tuple[str, str]:
    import pyscf

    path = part_path(out, name, k)
    traj = SETS[name].trajectory
    md_meta, md = load_npz(md_path(out, traj))
    snap = md["positions"][k]
    rows, pos_all, num_all, coef_all, n_atoms, n_coef, sizes, centres = [], [], [], [], [], [], [], []
    dm_all, n_ao, basis, ao_basis = [], [], None, None
    keep_dm = SETS[name].store_density_matrix
    for n, centre in cluster_plan(name, k):
        pos, num = cut_cluster(snap, md["numbers"], centre, n)
        r = label_cluster(pos, num, threads, probe_seed=[md_meta["seed"], k, n], keep_density_matrix=keep_dm)
        basis = r.pop("basis")
        if keep_dm:
            ao_basis = r.pop("ao_basis")
            dm_all.append(r.pop("density_matrix"))
            n_ao.append(int(ao_basis.offsets(num)[-1]))
        coef_all.append(r.pop("coefficients"))
        n_coef.append(len(coef_all[-1]))
        rows.append(r)
        pos_all.append(pos)
        num_all.append(num)
        n_atoms.append(len(num))
        sizes.append(n)
        centres.append(centre)
        print(f"[{now_utc()}]   {name} s{k:02d} {n:2d} waters: E {r['energy']:.4f} eV, "
              f"eps_rho {100 * r['eps_rho']:.2f} %, DFT {r['dft_wall_s']:.1f} s wall "
              f"({r['dft_cpu_s']:.1f} s cpu), fit+grid {r['fit_wall_s']:.1f} s", flush=True)
    arrays = {key: np.array([r[key] for r in rows]) for key in PER_CLUSTER}
    arrays.update(
        positions=np.concatenate(pos_all), numbers=np.concatenate(num_all),
        coefficients=np.concatenate(coef_all), n_atoms=np.array(n_atoms), n_coefficients=np.array(n_coef),
        n_molecules=np.array(sizes), centre_molecule=np.array(centres),
        snapshot=np.full(len(sizes), k), time_fs=np.full(len(sizes), md["time_fs"][k]),
        **basis.to_arrays(),
    )
    if keep_dm:
        arrays.update(density_matrix=np.concatenate(dm_all), n_ao=np.array(n_ao), **ao_basis.to_arrays("ao_basis_"))
    meta = dict(
        kind="water cluster densities", set=name, snapshot=k, role=SETS[name].role,
        level_of_theory=LEVEL_OF_THEORY, program=f"pyscf {pyscf.__version__}",
        dft_settings=dict(xc=XC, basis=BASIS, jk_auxbasis=JK_AUXBASIS, fit_auxbasis=FIT_AUXBASIS,
                          fit_metric="Coulomb", grids_level=rows[0]["grids_level"], conv_tol_hartree=1e-9,
                          initial_guess="minao"),
        irreps={gto_symbol(z): str(e.irreps) for z, e in basis.elements.items()},
        geometry_source=f"GFN2-xTB Langevin MD of a {N_DROPLET}-molecule droplet, see {md_path(out, traj).name}",
        md_seed=md_meta["seed"], md_trajectory=traj, temperature_K=TEMPERATURE_K,
        units=dict(positions="Angstrom", energy="eV", dipole="e Angstrom (nuclei positive)",
                   density="e / Angstrom^3", coefficients="atomic units: rho [e/Bohr^3] = sum c phi, "
                   "phi normalised over space in Bohr^3", time="fs"),
        conventions="coefficients in e3nn's layout and real spherical harmonics (tutorial_utils.density)",
        density_matrix=("DFT density matrix in the def2-SVP basis (ao_basis_* arrays), e3nn layout, lower "
                        "triangle row by row, float32; rho = sum_mn D_mn phi_m phi_n" if keep_dm else "not stored"),
        eps_rho_definition="int |rho_fit - rho_DFT| dr / N_electrons on the DFT grid",
        energy_definition="total electronic energy (no reference subtracted)",
        timing_note=f"{threads} thread(s) per process, on a machine shared with other jobs",
        versions=versions(VERSIONED), generated_utc=now_utc(), licence=LICENCE,
    )
    save_npz(path, meta, **arrays)
    return path.name, (f"done, {len(rows)} clusters, DFT {arrays['dft_wall_s'].sum():.0f} s wall, "
                       f"fit {arrays['fit_wall_s'].sum():.0f} s")


def gto_symbol(z: int) -> str:
    from tutorial_utils.density import element_symbol

    return element_symbol(int(z))


def part_plan() -> list[tuple[str, int]]:
    """All (set, snapshot) to label, interleaved across sets in proportion to their size."""
    keyed = []
    for order, (name, spec) in enumerate(SETS.items()):
        n = len(spec.snapshots)
        # every set starts early; the costly large clusters first, so they are never left undone
        keyed += [(i / n if max(spec.sizes) <= 10 else -1.0, order, (name, k)) for i, k in enumerate(spec.snapshots)]
    return [c for *_, c in sorted(keyed)]


def stage_label(out: Path, workers: int, threads: int, deadline: float) -> None:
    import multiprocessing as mp

    pending = [c for c in part_plan() if not part_path(out, *c).exists()]
    print(f"[{now_utc()}] label: {len(pending)} snapshots to do, {workers} worker(s) x {threads} thread(s)",
          flush=True)
    running: dict[tuple[str, int], object] = {}
    with mp.get_context("spawn").Pool(max(workers, 1)) as pool:
        while pending or running:
            while len(running) < workers and time.time() < deadline:
                ready = [c for c in pending if md_path(out, SETS[c[0]].trajectory).exists()]
                if not ready:
                    break
                c = ready[0]
                pending.remove(c)
                running[c] = pool.apply_async(label_part, ((*c, str(out), deadline, threads),))
            for c in [c for c, r in running.items() if r.ready()]:
                fname, status = running.pop(c).get()
                print(f"[{now_utc()}] {fname}: {status}", flush=True)
                write_manifest(out)
            startable = any(md_path(out, SETS[c[0]].trajectory).exists() for c in pending)
            if not running and (time.time() >= deadline or not startable):
                if pending:
                    print(f"[{now_utc()}] stopping with {len(pending)} snapshots left", flush=True)
                break
            time.sleep(2)


# --------------------------------------------------------------------------- step 3: pack


RAGGED_ATOM = ("positions", "numbers")
PACK_KEYS = PER_CLUSTER + ("n_atoms", "n_coefficients", "n_molecules", "centre_molecule", "snapshot",
                           "time_fs", "positions", "numbers", "coefficients")


def stage_pack(out: Path, only: list[str] | None = None) -> None:
    """Concatenate the finished parts of every set (or of the sets ``only``) into ``water_<set>.npz``."""
    unknown = sorted(set(only or []) - set(SETS))
    if unknown:
        raise SystemExit(f"unknown set(s) {unknown}; the sets are {sorted(SETS)}")
    for name, spec in SETS.items():
        if only and name not in only:
            continue
        paths = [part_path(out, name, k) for k in spec.snapshots]
        paths = [p for p in paths if p.exists()]
        if not paths:
            continue
        keys = PACK_KEYS + (("density_matrix", "n_ao") if spec.store_density_matrix else ())
        metas, cols, basis_arrays = [], {k: [] for k in keys}, None
        for p in paths:
            meta, arr = load_npz(p)
            metas.append(meta)
            for key in keys:
                cols[key].append(arr[key])
            # the basis (and, for held-out sets, the orbital basis) is the same in every part
            basis_arrays = {k: v for k, v in arr.items() if k.startswith(("basis_", "ao_basis_"))}
        packed = {k: np.concatenate(v) for k, v in cols.items()}
        meta = {k: metas[0].get(k) for k in ("level_of_theory", "program", "dft_settings", "irreps", "md_seed",
                                         "density_matrix",
                                         "md_trajectory", "temperature_K", "units", "conventions", "eps_rho_definition",
                                         "energy_definition", "licence", "role")}
        meta.update(kind="water cluster densities (packed)", set=name, n_clusters=len(packed["energy"]),
                    parts=[p.name for p in paths], generated_utc=now_utc(), versions=metas[-1]["versions"],
                    geometry_source=metas[0]["geometry_source"])
        target = out / f"water_{name}.npz"
        save_npz(target, meta, **packed, **basis_arrays)
        print(f"{target.name}: {meta['n_clusters']} clusters, {target.stat().st_size / 1e3:.0f} kB", flush=True)


# --------------------------------------------------------------------------- summary


def write_manifest(out: Path) -> dict:
    return generation.write_manifest(
        out, "items", lambda meta: dict(set=meta.get("set"), kind=meta.get("kind"),
                                        trajectory=meta.get("trajectory", meta.get("md_trajectory"))),
        target=generation.manifest_path(out, HERE, "water"),
        sets={k: dataclasses.asdict(v) for k, v in SETS.items()},
        trajectories={k: dataclasses.asdict(v) for k, v in TRAJECTORIES.items()},
        note="items: clusters (dft_*, water_*) or snapshots (xtb_*)")


def stage_summary(out: Path) -> None:
    manifest = write_manifest(out)
    print("| set | snapshots labelled / planned | clusters | eps_rho % (mean, min-max) "
          "| DFT s/cluster by size: wall / cpu |")
    print("|---|---|---|---|---|")
    for name, spec in SETS.items():
        parts = [load_npz(part_path(out, name, k))[1] for k in spec.snapshots
                 if part_path(out, name, k).exists()]
        if not parts:
            print(f"| {name} | 0 / {len(spec.snapshots)} | 0 | - | - |")
            continue
        eps = 100 * np.concatenate([p["eps_rho"] for p in parts])
        n = np.concatenate([p["n_molecules"] for p in parts])
        wall = np.concatenate([p["dft_wall_s"] for p in parts])
        cpu = np.concatenate([p["dft_cpu_s"] for p in parts])
        by_size = ", ".join(f"{s}: {wall[n == s].mean():.0f} / {cpu[n == s].mean():.0f}"
                            for s in sorted(set(n.tolist())))
        print(f"| {name} | {len(parts)} / {len(spec.snapshots)} | {len(eps)} | {eps.mean():.2f} "
              f"({eps.min():.2f}-{eps.max():.2f}) | {by_size} |")
    for p in sorted(out.glob("xtb_*.npz")):
        st = load_npz(p)[0]["stats"]
        print(f"{p.name}: mean T {st['mean_temperature_K']:.1f} K, xTB {1e3 * st['xtb_wall_s_per_step']:.0f} ms "
              f"wall / {1e3 * st['xtb_cpu_s_per_step']:.0f} ms cpu per MD step")
    print("\n| file | items | bytes | sha256 |")
    print("|---|---|---|---|")
    for fname, f in manifest["files"].items():
        print(f"| {fname} | {f.get('items')} | {f.get('bytes')} | `{f.get('sha256')}` |")


def parse_stop_at(text: str | None, max_minutes: float | None) -> float:
    """Deadline (epoch seconds) for starting new parts: ``--stop-at HH:MM`` (UTC) or minutes."""
    deadline = math.inf
    if max_minutes:
        deadline = time.time() + 60 * max_minutes
    if text:
        h, m = (int(x) for x in text.split(":"))
        stop = datetime.now(UTC).replace(hour=h, minute=m, second=0, microsecond=0)
        deadline = min(deadline, stop.timestamp())  # today, UTC; a time already past stops at once
    return deadline


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", nargs="?", default="all", choices=["all", "md", "atoms", "label", "pack", "summary"])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this one)")
    parser.add_argument("--workers", type=int, default=1, help="DFT processes in parallel")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads per DFT process")
    parser.add_argument("--max-minutes", type=float, default=None, help="start no new part after this many minutes")
    parser.add_argument("--stop-at", default=None, help="start no new part after this UTC time (HH:MM, today)")
    parser.add_argument("--sets", nargs="*", default=None, help="pack only these sets (default: all)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.stage in ("all", "md"):
        stage_md(args.out)
    if args.stage in ("all", "atoms"):
        stage_atoms(args.out, args.threads)
    if args.stage in ("all", "label"):
        stage_label(args.out, args.workers, args.threads, parse_stop_at(args.stop_at, args.max_minutes))
    if args.stage in ("all", "pack"):
        stage_pack(args.out, args.sets)
    if args.stage in ("all", "summary"):
        stage_summary(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
