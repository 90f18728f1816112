"""Periodic graph builder against ASE's neighbour list and a brute-force search.

Workloads: all 1521 crystals of the phonon DoS data set (2-40 atoms per cell, triclinic
cells, cutoffs often larger than the cell) at r_max = 5 Å, and a 1000-atom fcc copper
supercell (10x10x10 primitive cells, rattled) at r_max = 5 Å. For each, the three
methods must find the same pairs; the table gives seconds per workload and the ratio
reference time / our time (above 1: ours is faster).
"""

from __future__ import annotations

import itertools
import time

import numpy as np
from ase.build import bulk
from ase.neighborlist import neighbor_list

from tutorial_utils.data.phonon import load_phonon_dos
from tutorial_utils.graphs import periodic_radius_graph

R_MAX = 5.0


def ours(atoms, r_max: float) -> int:
    edge_index, _ = periodic_radius_graph(atoms.get_positions(), np.asarray(atoms.cell), atoms.pbc, r_max)
    return int(edge_index.shape[1])


def ase_nl(atoms, r_max: float) -> int:
    i, _, _ = neighbor_list("ijS", atoms, r_max)
    return int(len(i))


def brute_force(atoms, r_max: float) -> int:
    """Count pairs by enumerating every cell shift that can hold a neighbour."""
    pos, cell = atoms.get_positions(), np.asarray(atoms.cell)
    spacing = 1.0 / np.linalg.norm(np.linalg.inv(cell), axis=0)
    n_max = [int(np.ceil(r_max / s)) + 1 for s in spacing]
    count = 0
    for shift in itertools.product(*(range(-n, n + 1) for n in n_max)):
        d = np.linalg.norm(pos[None, :, :] - pos[:, None, :] + np.array(shift) @ cell, axis=-1)
        count += int((d < r_max).sum())
    return count - len(pos)  # remove the atoms' zero distance to themselves


def _time(fn, structures, r_max: float, repeat: int) -> tuple[float, list[int]]:
    best, counts = np.inf, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        counts = [fn(a, r_max) for a in structures]
        best = min(best, time.perf_counter() - t0)
    return best, counts


def run_workload(name: str, structures, r_max: float, repeat: int = 3, brute_repeat: int = 1) -> None:
    t_ours, n_ours = _time(ours, structures, r_max, repeat)
    t_ase, n_ase = _time(ase_nl, structures, r_max, repeat)
    t_brute, n_brute = _time(brute_force, structures, r_max, brute_repeat)
    if not (n_ours == n_ase == n_brute):
        bad = next(k for k in range(len(structures)) if not n_ours[k] == n_ase[k] == n_brute[k])
        raise AssertionError(f"{name}: pair counts differ for structure {bad}: "
                             f"ours {n_ours[bad]}, ase {n_ase[bad]}, brute force {n_brute[bad]}")
    pairs = sum(n_ours)
    print(f"{name}: {len(structures)} structure(s), {pairs} pairs, identical in all three methods")
    print(f"  {'method':28s} {'seconds':>9s} {'ratio to ours':>14s}")
    for label, t in [("ours (vesin + torch)", t_ours), ("ase.neighborlist", t_ase), ("brute force", t_brute)]:
        print(f"  {label:28s} {t:9.3f} {t / t_ours:14.1f}")


def main(argv: list[str] | None = None) -> None:
    """Run both workloads (no options)."""
    crystals = [r.atoms for r in load_phonon_dos()]
    run_workload(f"phonon crystals, r_max {R_MAX} Å", crystals, R_MAX)
    supercell = bulk("Cu", "fcc", a=3.61) * (10, 10, 10)
    supercell.rattle(0.05, seed=0)
    run_workload(f"1000-atom Cu supercell, r_max {R_MAX} Å", [supercell], R_MAX)


if __name__ == "__main__":
    main()
