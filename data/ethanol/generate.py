"""Make the ethanol data set of notebook 04: xTB molecular dynamics, labelled with DFT.

One command re-makes (or finishes) the whole data set; it resumes where it stopped:

    python data/ethanol/generate.py                 # md, then label, then pack
    python data/ethanol/generate.py label --workers 2 --max-minutes 60
    python data/ethanol/generate.py summary         # frames made, sha256 of every file

Needs the ``data`` extra: ``pip install -e ".[data]"`` (pyscf and tblite).

Steps
-----
1. ``md``: Langevin molecular dynamics of one ethanol molecule with GFN2-xTB (tblite's ASE
   calculator), 0.5 fs steps, friction 0.01 / fs, the centre of mass fixed by
   ``ase.constraints.FixCom`` with ``fixcm=False`` (ASE deprecates ``fixcm=True``, which does
   not sample the canonical ensemble exactly and runs small molecules hot; ``thermostat``
   measures it). Each trajectory is equilibrated for 1 ps, then one frame is kept every
   ``STRIDE`` steps (80 fs, 1.5 times the potential energy's autocorrelation time). Several
   independent trajectories per set; the held-out sets (``test`` at 500 K, ``t300`` and
   ``t700`` at other temperatures) come from their own trajectories, never from the training
   ones. Output: ``xtb_<set>_t<k>.npz`` (kept frames with their xTB energies and forces, plus
   the temperature and potential energy of every step, for checks).
2. ``label``: PBE/def2-SVP energies and forces from pyscf (restricted Kohn-Sham, density
   fitting), in parts of ``PART`` consecutive frames; within a part each SCF starts from the
   previous frame's density matrix (pyscf's gradient scanner). Output:
   ``dft_<set>_t<k>_p<j>.npz``. Parts are labelled in an interleaved order, so a run stopped
   early still leaves every set with some frames. The manifest
   (``tutorial_utils/data/manifests/ethanol.json``; ``<out>/manifest.json`` for another ``--out``)
   lists the parts.
3. ``pack``: one file per set, ``ethanol_<set>.npz``, concatenating its finished parts.

Every npz holds only numeric and string arrays (load with ``allow_pickle=False``), with a
``metadata`` entry: a JSON string (level of theory, units, temperature, seeds, timings).
Units: positions Å, energies eV, forces eV/Å, time fs, temperature K.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools/ and tutorial_utils, also when not installed
from tools import datagen as generation  # noqa: E402
from tools.datagen import claim, load_npz, now_utc, save_npz, versions  # noqa: E402
from tutorial_utils.md import kinetic_temperature  # noqa: E402

HERE = Path(__file__).resolve().parent
MOLECULE = "CH3CH2OH"  # ase.build.molecule name (G2 geometry, used as the start of every run)
TIMESTEP_FS = 0.5
FRICTION_PER_FS = 0.01
EQUILIBRATION_STEPS = 2000  # 1 ps, discarded
STRIDE = 160  # steps between kept frames: 80 fs. Measured on the first 500 K trajectory: the
# potential energy's autocorrelation is 0.56 at 10 fs, 0.29 at 80 fs, 0.11 at 160 fs (integrated
# autocorrelation time 54 fs), so successive frames share little beyond slow torsions
PART = 25  # frames per labelled part
LICENCE = "CC BY 4.0 (data made by this project; compatible with the code's MIT licence)"
LEVEL_OF_THEORY = "PBE/def2-SVP, restricted Kohn-Sham, density fitting (def2-universal-jkfit)"


@dataclasses.dataclass(frozen=True)
class SetSpec:
    """One subset: its MD temperature, number of independent trajectories, frames each."""

    temperature_K: float
    n_traj: int
    frames_per_traj: int
    seed: int
    role: str


SETS: dict[str, SetSpec] = {
    "train": SetSpec(500.0, 4, 250, seed=1, role="training pool (train/valid split is the user's)"),
    "test": SetSpec(500.0, 2, 125, seed=2, role="held-out, same temperature, own trajectories"),
    "t700": SetSpec(700.0, 2, 100, seed=3, role="held-out, hotter: extrapolation"),
    "t300": SetSpec(300.0, 2, 100, seed=4, role="held-out, colder: transfer"),
}


# --------------------------------------------------------------------------- helpers












def md_path(out: Path, name: str, k: int) -> Path:
    return out / f"xtb_{name}_t{k}.npz"


def part_path(out: Path, name: str, k: int, j: int) -> Path:
    return out / f"dft_{name}_t{k}_p{j:02d}.npz"


# --------------------------------------------------------------------------- step 1: MD




def run_md(temperature_K: float, n_frames: int, seed: int, fixcm: bool = False,
           stride: int = STRIDE) -> dict:
    """One Langevin trajectory with GFN2-xTB; returns kept frames and per-step traces."""
    from ase import units
    from ase.build import molecule
    from ase.constraints import FixCom
    from ase.md.langevin import Langevin
    from ase.md.velocitydistribution import Stationary

    try:
        from ase.md.velocitydistribution import thermalize_momenta  # ASE >= 3.29
    except ImportError:
        from ase.md.velocitydistribution import MaxwellBoltzmannDistribution

        def thermalize_momenta(atoms, temperature_K, rng=None):
            MaxwellBoltzmannDistribution(atoms, temperature_K=temperature_K, rng=rng)
    from tblite.ase import TBLite

    rng = np.random.default_rng(seed)
    atoms = molecule(MOLECULE)
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    if not fixcm:
        atoms.set_constraint(FixCom())
    thermalize_momenta(atoms, temperature_K, rng=rng)
    Stationary(atoms)
    dyn = Langevin(atoms, TIMESTEP_FS * units.fs, temperature_K=temperature_K,
                   friction=FRICTION_PER_FS / units.fs, fixcm=fixcm, rng=rng)
    n_steps = EQUILIBRATION_STEPS + n_frames * stride
    temps = np.empty(n_steps, np.float32)
    epots = np.empty(n_steps, np.float32)
    pos, e_xtb, f_xtb, t_fs = [], [], [], []
    t0 = time.perf_counter()
    c0 = time.process_time()
    for step in range(n_steps):
        dyn.run(1)
        temps[step] = kinetic_temperature(atoms)
        epots[step] = atoms.get_potential_energy()
        done = step + 1 - EQUILIBRATION_STEPS
        if done > 0 and done % stride == 0:
            pos.append(atoms.get_positions())
            e_xtb.append(atoms.get_potential_energy())
            # FixCom projects the forces it returns; ask the calculator for the raw ones
            f_xtb.append(atoms.calc.get_forces(atoms))
            t_fs.append((step + 1) * TIMESTEP_FS)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    prod = temps[EQUILIBRATION_STEPS:]
    return dict(
        positions=np.array(pos), energy_xtb=np.array(e_xtb), forces_xtb=np.array(f_xtb),
        time_fs=np.array(t_fs), numbers=atoms.get_atomic_numbers().astype(np.int64),
        step_temperature_K=temps, step_epot_eV=epots,
        stats=dict(n_steps=n_steps, wall_s=wall, cpu_s=cpu, xtb_wall_s_per_step=wall / n_steps,
                   xtb_cpu_s_per_step=cpu / n_steps, mean_temperature_K=float(prod.mean()),
                   std_temperature_K=float(prod.std()),
                   sem_temperature_K=block_sem(prod)),
    )


def block_sem(x: np.ndarray, n_blocks: int = 20) -> float:
    """Standard error of the mean of a correlated series, from block averages."""
    blocks = np.array_split(np.asarray(x, np.float64), n_blocks)
    means = np.array([b.mean() for b in blocks])
    return float(means.std(ddof=1) / math.sqrt(n_blocks))


def autocorrelation_time_fs(x: np.ndarray, dt_fs: float) -> float:
    """Integrated autocorrelation time (fs) of a series, summed until the ACF first drops
    below zero."""
    x = np.asarray(x, np.float64) - np.mean(x)
    n = len(x)
    f = np.fft.rfft(x, 2 * n)
    acf = np.fft.irfft(f * np.conj(f))[:n] / np.arange(n, 0, -1)
    acf = acf / acf[0]
    cut = int(np.argmax(acf < 0)) if (acf < 0).any() else n
    return float(dt_fs * (0.5 + acf[1:cut].sum()))


def md_order() -> list[tuple[str, int]]:
    """Trajectories in the order the labelling first needs them."""
    order: list[tuple[str, int]] = []
    for name, k, _ in chunk_plan():
        if (name, k) not in order:
            order.append((name, k))
    return order


def acf_at_lag(x: np.ndarray, lag: int) -> float:
    """Normalised autocorrelation of a series at one lag (in steps)."""
    x = np.asarray(x, np.float64) - np.mean(x)
    return float(np.dot(x[:-lag], x[lag:]) / (len(x) - lag) / x.var())


def stage_md(out: Path) -> None:
    for name, k in md_order():
        spec = SETS[name]
        path = md_path(out, name, k)
        if path.exists():
            continue
        seed = 1000 * spec.seed + k
        print(f"[{now_utc()}] md {name} trajectory {k}: {spec.temperature_K:.0f} K, seed {seed}",
              flush=True)
        r = run_md(spec.temperature_K, spec.frames_per_traj, seed)
        stats = r.pop("stats")
        prod = r["step_epot_eV"][EQUILIBRATION_STEPS:]
        stats["epot_autocorrelation_time_fs"] = autocorrelation_time_fs(prod, TIMESTEP_FS)
        stats["epot_acf_at_stride"] = acf_at_lag(prod, STRIDE)
        meta = dict(
            kind="xtb trajectory", set=name, trajectory=k, seed=seed, molecule=MOLECULE,
            level_of_theory="GFN2-xTB (tblite)", temperature_K=spec.temperature_K,
            thermostat=f"ASE Langevin, friction {FRICTION_PER_FS}/fs, fixcm=False + FixCom",
            timestep_fs=TIMESTEP_FS, equilibration_steps=EQUILIBRATION_STEPS, stride=STRIDE,
            units=dict(positions="Angstrom", energy="eV", forces="eV/Angstrom", time="fs",
                       temperature="K"),
            temperature_definition="2 Ekin / ((3N - 3) kB)",
            stats=stats, versions=versions(), generated_utc=now_utc(), licence=LICENCE,
        )
        save_npz(path, meta, **r)
        print(f"    mean T {stats['mean_temperature_K']:.1f} +- {stats['sem_temperature_K']:.1f} K, "
              f"{stats['xtb_wall_s_per_step'] * 1e3:.2f} ms/step, "
              f"tau(Epot) {stats['epot_autocorrelation_time_fs']:.1f} fs", flush=True)


def time_xtb_calls(n: int = 200) -> dict:
    """Median wall and cpu time (s) of one GFN2-xTB energy+forces call on ethanol, each on a
    new geometry (random 0.02 Å displacements of the start structure)."""
    from ase.build import molecule
    from tblite.ase import TBLite

    atoms = molecule(MOLECULE)
    atoms.calc = TBLite(method="GFN2-xTB", verbosity=0)
    atoms.get_forces()  # set-up excluded
    rng = np.random.default_rng(0)
    start = atoms.get_positions()
    wall, cpu = [], []
    for _ in range(n):
        atoms.set_positions(start + rng.normal(0.0, 0.02, start.shape))
        t0, c0 = time.perf_counter(), time.process_time()
        atoms.get_forces()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return dict(calls=n, median_wall_s=float(np.median(wall)), median_cpu_s=float(np.median(cpu)),
                threads=int(os.environ.get("OMP_NUM_THREADS", "0") or 0))


def stage_thermostat_check(out: Path, n_frames: int = 100) -> None:
    """Mean temperature with ASE's ``fixcm=True`` against ``fixcm=False`` + ``FixCom``, at 500 K,
    same seed and length (the pitfall the issue measured). Writes ``thermostat_check.json``."""
    path = out / "thermostat_check.json"
    if path.exists():
        return
    import warnings

    res = {}
    for fixcm in (True, False):
        print(f"[{now_utc()}] thermostat check fixcm={fixcm}", flush=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # fixcm=True is deprecated: that is the point
            r = run_md(500.0, n_frames, seed=77, fixcm=fixcm)
        res[f"fixcm={fixcm}"] = r["stats"]
    res["xtb_single_call"] = time_xtb_calls()
    res["note"] = ("500 K target, 1 ps equilibration discarded, then "
                   f"{n_frames * STRIDE * TIMESTEP_FS / 1000:.1f} ps; T = 2 Ekin / ((3N-3) kB)")
    path.write_text(json.dumps(res, indent=1, sort_keys=True) + "\n")
    print(json.dumps(res, indent=1), flush=True)


# --------------------------------------------------------------------------- step 2: DFT


def chunk_plan() -> list[tuple[str, int, int]]:
    """All (set, trajectory, part) to label, interleaved across sets in proportion to size."""
    keyed = []
    for order, (name, spec) in enumerate(SETS.items()):
        n_parts = math.ceil(spec.frames_per_traj / PART)
        chunks = [(name, k, j) for j in range(n_parts) for k in range(spec.n_traj)]
        keyed += [((i + 0.5) / len(chunks), order, c) for i, c in enumerate(chunks)]
    return [c for *_, c in sorted(keyed)]


def label_part(args: tuple[str, int, int, str, float, int]) -> tuple[str, str]:
    """Label one part with DFT and write it; returns (file name, status)."""
    name, k, j, out_str, deadline, threads = args
    out = Path(out_str)
    path = part_path(out, name, k, j)
    if path.exists():
        return path.name, "exists"
    if time.time() > deadline:
        return path.name, "skipped (time limit)"
    lock = claim(path)
    if lock is None:
        return path.name, "skipped (another process is labelling it)"
    try:
        return _label_part(name, k, j, out, threads)
    finally:
        lock.release()




def _label_part(name: str, k: int, j: int, out: Path, threads: int) -> tuple[str, str]:
    path = part_path(out, name, k, j)
    import pyscf
    from pyscf import dft, gto, lib
    from pyscf.data import nist

    lib.num_threads(threads)
    md_meta, md = load_npz(md_path(out, name, k))
    sl = slice(j * PART, (j + 1) * PART)
    positions = md["positions"][sl]
    numbers = md["numbers"]
    symbols = [gto.mole._symbol(int(z)) for z in numbers]
    mol = gto.M(atom=list(zip(symbols, positions[0], strict=True)), basis="def2-svp", unit="Angstrom",
                charge=0, spin=0, verbose=0)
    mf = dft.RKS(mol, xc="pbe").density_fit(auxbasis="def2-universal-jkfit")
    mf.conv_tol = 1e-9
    mf.max_cycle = 100
    scanner = mf.nuc_grad_method().as_scanner()
    hartree_to_ev = nist.HARTREE2EV
    force_unit = nist.HARTREE2EV / nist.BOHR  # Hartree/Bohr -> eV/Å
    energies, forces, wall, cpu, converged, cycles = [], [], [], [], [], []
    for x in positions:
        t0, c0 = time.perf_counter(), time.process_time()
        m = mol.set_geom_(x, unit="Angstrom", inplace=False)
        e, grad = scanner(m)  # the SCF starts from the previous frame's density matrix
        ok = bool(scanner.base.converged)
        if not ok:  # rare: start again from a fresh guess with second-order SCF
            mf2 = dft.RKS(m, xc="pbe").density_fit(auxbasis="def2-universal-jkfit").newton()
            mf2.conv_tol = 1e-9
            e = mf2.kernel()
            grad = mf2.nuc_grad_method().kernel()
            ok = bool(mf2.converged)
            scanner = mf.nuc_grad_method().as_scanner()  # do not reuse a bad density
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        energies.append(e * hartree_to_ev)
        forces.append(-np.asarray(grad) * force_unit)
        converged.append(ok)
        cycles.append(int(getattr(scanner.base, "cycles", -1)))
    spec = SETS[name]
    meta = dict(
        kind="dft labels", set=name, trajectory=k, part=j, molecule=MOLECULE,
        level_of_theory=LEVEL_OF_THEORY, program=f"pyscf {pyscf.__version__}",
        dft_settings=dict(xc="PBE", basis="def2-SVP", auxbasis="def2-universal-jkfit",
                          grids_level=int(mf.grids.level), conv_tol_hartree=mf.conv_tol,
                          initial_guess="previous frame's density matrix (first frame: minao)",
                          constants=f"pyscf.data.nist HARTREE2EV={nist.HARTREE2EV}, BOHR={nist.BOHR}"),
        geometry_source="GFN2-xTB Langevin MD, see the matching xtb_*.npz",
        temperature_K=spec.temperature_K, md_seed=md_meta["seed"], md_stride=STRIDE,
        md_timestep_fs=TIMESTEP_FS,
        units=dict(positions="Angstrom", energy="eV", forces="eV/Angstrom", time="fs"),
        energy_definition="total electronic energy (no reference subtracted)",
        timing=dict(dft_wall_s_per_frame=float(np.mean(wall)), dft_cpu_s_per_frame=float(np.mean(cpu)),
                    threads=threads, note="wall time on a shared machine under nice 19; "
                    "cpu time is closer to the unloaded single-thread cost"),
        versions=versions(), generated_utc=now_utc(), licence=LICENCE,
    )
    save_npz(
        path, meta,
        positions=positions, energy=np.array(energies), forces=np.array(forces), numbers=numbers,
        energy_xtb=md["energy_xtb"][sl], forces_xtb=md["forces_xtb"][sl], time_fs=md["time_fs"][sl],
        frame=np.arange(sl.start, sl.start + len(positions)), converged=np.array(converged),
        scf_cycles=np.array(cycles), dft_wall_s=np.array(wall), dft_cpu_s=np.array(cpu),
    )
    return path.name, f"done, {np.mean(wall):.1f} s/frame wall, {np.mean(cpu):.1f} s/frame cpu"


def stage_label(out: Path, workers: int, threads: int, max_minutes: float | None,
                wait_for_md: bool = False, reverse: bool = False) -> None:
    """Label every missing part, ``workers`` processes at a time, in :func:`chunk_plan` order.

    A part is started only once its trajectory exists; with ``wait_for_md`` the stage waits
    for trajectories that another process (``generate.py md``) is still running. ``reverse``
    works from the end of the plan (a second labelling run beside a first one); lock files keep
    two runs off the same part.
    """
    import multiprocessing as mp

    deadline = time.time() + 60 * max_minutes if max_minutes else math.inf
    pending = [c for c in chunk_plan() if not part_path(out, *c).exists()]
    if reverse:
        pending.reverse()
    print(f"[{now_utc()}] label: {len(pending)} parts of {PART} frames to do, {workers} worker(s) "
          f"x {threads} thread(s)", flush=True)
    running: dict[tuple[str, int, int], object] = {}
    with mp.get_context("spawn").Pool(max(workers, 1)) as pool:
        while pending or running:
            while len(running) < workers and time.time() < deadline:
                ready = [c for c in pending if md_path(out, c[0], c[1]).exists()]
                if not ready:
                    break
                c = ready[0]
                pending.remove(c)
                running[c] = pool.apply_async(label_part, ((*c, str(out), deadline, threads),))
            for c in [c for c, r in running.items() if r.ready()]:
                fname, status = running.pop(c).get()
                print(f"[{now_utc()}] {fname}: {status}", flush=True)
                write_manifest(out)
            startable = any(md_path(out, c[0], c[1]).exists() for c in pending)
            if not running and (time.time() >= deadline or not (startable or wait_for_md)):
                if pending:
                    print(f"[{now_utc()}] stopping with {len(pending)} parts left "
                          f"({'time limit' if time.time() >= deadline else 'trajectories missing'})",
                          flush=True)
                break
            time.sleep(2)


# --------------------------------------------------------------------------- step 3: pack


def parts_of(out: Path, name: str) -> list[Path]:
    spec = SETS[name]
    paths = [part_path(out, name, k, j) for k in range(spec.n_traj)
             for j in range(math.ceil(spec.frames_per_traj / PART))]
    return [p for p in paths if p.exists()]


def stage_pack(out: Path) -> None:
    keys = ("positions", "energy", "forces", "energy_xtb", "forces_xtb", "time_fs", "frame",
            "converged", "dft_wall_s", "dft_cpu_s")
    for name, spec in SETS.items():
        paths = parts_of(out, name)
        if not paths:
            continue
        metas, cols = [], {k: [] for k in keys}
        traj = []
        for p in paths:
            meta, arr = load_npz(p)
            metas.append(meta)
            for key in keys:
                cols[key].append(arr[key])
            traj.append(np.full(len(arr["energy"]), meta["trajectory"]))
            numbers = arr["numbers"]
        packed = {k: np.concatenate(v) for k, v in cols.items()}
        packed["trajectory"] = np.concatenate(traj)
        meta = {k: metas[0][k] for k in ("molecule", "level_of_theory", "program", "dft_settings",
                                         "geometry_source", "temperature_K", "md_stride",
                                         "md_timestep_fs", "units", "energy_definition", "licence")}
        meta.update(kind="dft labels (packed)", set=name, role=spec.role, n_frames=len(packed["energy"]),
                    parts=[p.name for p in paths], md_seeds=sorted({m["md_seed"] for m in metas}),
                    generated_utc=now_utc(), versions=metas[-1]["versions"])
        check = out / "thermostat_check.json"
        if check.exists():  # xTB timing and the thermostat pitfall travel with the data
            meta["xtb_thermostat_check"] = json.loads(check.read_text())
        target = out / f"ethanol_{name}.npz"
        save_npz(target, meta, numbers=numbers, **packed)
        print(f"{target.name}: {meta['n_frames']} frames, {target.stat().st_size / 1e3:.0f} kB", flush=True)


# --------------------------------------------------------------------------- summary


def write_manifest(out: Path) -> dict:
    return generation.write_manifest(
        out, "frames", lambda meta: dict(set=meta.get("set"), temperature_K=meta.get("temperature_K"),
                                         kind=meta.get("kind")),
        target=generation.manifest_path(out, HERE, "ethanol"),
        part_size=PART, sets={k: dataclasses.asdict(v) for k, v in SETS.items()})


def stage_summary(out: Path) -> None:
    """Print a markdown summary: frames per set (planned / labelled), timings, files."""
    manifest = write_manifest(out)
    print("| set | T target (K) | T measured (K) | frames labelled / planned |")
    print("|---|---|---|---|")
    for name, spec in SETS.items():
        temps = []
        for k in range(spec.n_traj):
            if md_path(out, name, k).exists():
                temps.append(load_npz(md_path(out, name, k))[0]["stats"]["mean_temperature_K"])
        n = sum(len(load_npz(p)[1]["energy"]) for p in parts_of(out, name))
        t = f"{np.mean(temps):.0f} ({len(temps)} traj.)" if temps else "-"
        print(f"| {name} | {spec.temperature_K:.0f} | {t} | {n} / {spec.n_traj * spec.frames_per_traj} |")
    wall, cpu, xtb_wall, xtb_cpu, tau = [], [], [], [], []
    for p in sorted(out.glob("dft_*.npz")):
        _, arr = load_npz(p)
        wall += arr["dft_wall_s"].tolist()
        cpu += arr["dft_cpu_s"].tolist()
    for p in sorted(out.glob("xtb_*.npz")):
        st = load_npz(p)[0]["stats"]
        xtb_wall.append(st["xtb_wall_s_per_step"])
        xtb_cpu.append(st["xtb_cpu_s_per_step"])
        tau.append(st["epot_autocorrelation_time_fs"])
    if wall:
        print(f"\nDFT per frame: {np.mean(wall):.2f} s wall, {np.mean(cpu):.2f} s cpu "
              f"(median {np.median(cpu):.2f} s cpu), {len(wall)} frames")
    if xtb_wall:
        print(f"xTB MD per step (force call + integrator): {1e3 * np.mean(xtb_wall):.2f} ms wall, "
              f"{1e3 * np.mean(xtb_cpu):.2f} ms cpu; Epot autocorrelation time "
              f"{np.mean(tau):.1f} fs (min {np.min(tau):.1f}, max {np.max(tau):.1f})")
    check = out / "thermostat_check.json"
    if check.exists():
        res = json.loads(check.read_text())
        for key in ("fixcm=True", "fixcm=False"):
            st = res[key]
            print(f"thermostat check, 500 K target, {key}: mean T {st['mean_temperature_K']:.1f} "
                  f"+- {st['sem_temperature_K']:.1f} K")
        call = res["xtb_single_call"]
        print(f"xTB single energy+forces call: {1e3 * call['median_wall_s']:.2f} ms wall, "
              f"{1e3 * call['median_cpu_s']:.2f} ms cpu (median of {call['calls']})")
    print("\n| file | frames | bytes | sha256 |")
    print("|---|---|---|---|")
    for fname, f in manifest["files"].items():
        print(f"| {fname} | {f.get('frames')} | {f.get('bytes')} | `{f.get('sha256')}` |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("stage", nargs="?", default="all",
                        choices=["all", "md", "thermostat", "label", "pack", "summary"])
    parser.add_argument("--out", type=Path, default=HERE, help="output folder (default: this one)")
    parser.add_argument("--workers", type=int, default=1, help="DFT processes in parallel")
    parser.add_argument("--threads", type=int, default=1, help="OpenMP threads per DFT process")
    parser.add_argument("--max-minutes", type=float, default=None,
                        help="start no new DFT part after this many minutes")
    parser.add_argument("--wait-for-md", action="store_true",
                        help="label while a separate 'md' process is still making trajectories")
    parser.add_argument("--reverse", action="store_true",
                        help="label from the end of the plan (a second run beside a first)")
    args = parser.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    args.out.mkdir(parents=True, exist_ok=True)
    if args.stage in ("all", "md"):
        stage_md(args.out)
    if args.stage in ("all", "thermostat"):
        stage_thermostat_check(args.out)
    if args.stage in ("all", "label"):
        stage_label(args.out, args.workers, args.threads, args.max_minutes, args.wait_for_md, args.reverse)
    if args.stage in ("all", "pack"):
        stage_pack(args.out)
    if args.stage in ("all", "summary"):
        stage_summary(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
