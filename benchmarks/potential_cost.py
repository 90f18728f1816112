"""Benchmark: how the cost of one energy + forces call grows with system size, for notebook 04's
potential, GFN2-xTB and (small sizes only) DFT, on clusters of 1, 8 and 64 ethanol molecules.

    python benchmarks/potential_cost.py                  # sizes 1 8 64, one thread each
    python benchmarks/potential_cost.py --sizes 1 8 --dft-max 1

Systems: ``n`` copies of one ethanol frame (the first of ``ethanol_train``), each randomly
rotated, on a cubic grid with ``--spacing`` Å between centres (a dense, non-periodic cluster:
every molecule has neighbours within the potential's cutoff, as in a liquid). Methods:

* the potential: ``tutorial_utils.potential.pretrained()`` in ``EquivariantCalculator`` (float32,
  one torch thread), its neighbour list rebuilt at every call like in MD;
* GFN2-xTB: tblite's ASE calculator (optional: the ``data`` extra), one thread, reset before
  every call, so each SCF starts from scratch (in MD it would start from the previous step's
  charges and need fewer iterations: the xTB times are upper bounds for MD);
* DFT: pyscf PBE/def2-SVP (the level of the training labels; optional: the ``data`` extra), only
  for systems of at most ``--dft-max`` molecules (its cost grows about with the cube of the size).

Each entry is the median CPU time of repeated calls (``time.process_time``; one thread, so CPU
time is wall time on an idle core). The printed ratios are xTB / potential and DFT / potential at
each size (above 1: the potential is cheaper), and the log-log slope of cost against atoms.
The table goes to ``data/ethanol/cost_scaling.json`` (``--register`` records it in the registry),
which notebook 04 loads for the xTB and DFT columns; it times its own potential live.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")  # tblite and pyscf read it at import
ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "data" / "ethanol" / "cost_scaling.json"


def ethanol_cluster(n: int, spacing: float, seed: int = 0):
    """``n`` randomly rotated copies of the first ethanol training frame, the frame notebook 04 times
    (``tutorial_utils.md.molecular_cluster``)."""
    from ase import Atoms

    from tutorial_utils.data import fetch
    from tutorial_utils.md import molecular_cluster
    from tutorial_utils.potential import load_frames

    frames = load_frames(fetch("ethanol_train"))
    return molecular_cluster(Atoms(numbers=frames.numbers, positions=frames.positions[0]), n, spacing, seed)


def cpu_seconds_per_call(call: Callable[[], object], atoms: int) -> float:
    """Median CPU time of ``call`` (``tutorial_utils.md.time_per_call``), fewer calls for larger systems."""
    from tutorial_utils.md import time_per_call

    return time_per_call(call, calls=max(3, 200 // atoms), warmup=1, clock=time.process_time)


def _forces(atoms, calc) -> Callable[[], object]:
    def call():
        atoms.calc = calc
        calc.reset()
        return atoms.get_forces()

    return call


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=[1, 8, 64], help="molecules per system")
    parser.add_argument("--spacing", type=float, default=4.5, help="Å between molecule centres")
    parser.add_argument("--dft-max", type=int, default=1, help="DFT only up to this many molecules")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--register", action="store_true", help="record --out in the registry's manifest")
    args = parser.parse_args(argv)

    import torch

    from tutorial_utils.potential import EquivariantCalculator, pretrained

    torch.set_num_threads(1)
    model = pretrained()
    calculators: dict[str, Callable[[], object] | None] = {"potential": lambda: EquivariantCalculator(model)}
    try:
        from tblite.ase import TBLite

        calculators["GFN2-xTB"] = lambda: TBLite(method="GFN2-xTB", verbosity=0)
    except ImportError:
        print("tblite is not installed: no xTB column (pip install tblite, or the project's data extra)")
    have_pyscf = True
    try:
        import pyscf  # noqa: F401
    except ImportError:
        have_pyscf = False
        print("pyscf is not installed: no DFT column (pip install pyscf, or the project's data extra)")

    rows = []
    for n in args.sizes:
        atoms = ethanol_cluster(n, args.spacing)
        row = {"molecules": n, "atoms": len(atoms)}
        for name, make in calculators.items():
            row[name] = cpu_seconds_per_call(_forces(atoms.copy(), make()), len(atoms))
        if have_pyscf and n <= args.dft_max:
            row["DFT PBE/def2-SVP"] = _dft_seconds(atoms)
        rows.append(row)
        print(f"{n:3d} molecules ({len(atoms):4d} atoms): "
              + ", ".join(f"{k} {v:.3g} s" for k, v in row.items() if k not in ("molecules", "atoms")), flush=True)

    methods = [m for m in ("potential", "GFN2-xTB", "DFT PBE/def2-SVP") if any(m in r for r in rows)]
    print(f"\n{'molecules':>9s} {'atoms':>6s} " + " ".join(f"{m:>18s}" for m in methods)
          + f" {'xTB / potential':>16s} {'DFT / potential':>16s}")
    for r in rows:
        cells = " ".join(f"{r[m]:>16.3g} s" if m in r else f"{'-':>18s}" for m in methods)
        ratio_x = f"{r['GFN2-xTB'] / r['potential']:16.2f}" if "GFN2-xTB" in r else f"{'-':>16s}"
        ratio_d = f"{r['DFT PBE/def2-SVP'] / r['potential']:16.0f}" if "DFT PBE/def2-SVP" in r else f"{'-':>16s}"
        print(f"{r['molecules']:9d} {r['atoms']:6d} {cells} {ratio_x} {ratio_d}")
    for m in ("potential", "GFN2-xTB"):
        pts = [(r["atoms"], r[m]) for r in rows if m in r]
        if len(pts) >= 2:
            slope = np.polyfit(np.log([p[0] for p in pts]), np.log([p[1] for p in pts]), 1)[0]
            print(f"{m}: cost grows as atoms^{slope:.2f} from {pts[0][0]} to {pts[-1][0]} atoms")
    import platform

    args.out.write_text(json.dumps({"rows": rows, "spacing_A": args.spacing, "threads": 1, "clock": "process_time",
                                    "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
                                    "made_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}, indent=1) + "\n")
    if args.register:
        sys.path.insert(0, str(ROOT))
        from tools.datagen import manifest_path, register_file

        here = args.out.parent
        register_file(manifest_path(here, here, "ethanol"), args.out, kind="benchmark results (JSON)")
    return 0


def _dft_seconds(atoms) -> float:
    """CPU seconds of one PBE/def2-SVP energy + gradient with pyscf (one thread), from a fresh guess,
    with the settings of the training labels (data/ethanol/generate.py: density fitting with
    def2-universal-jkfit, conv_tol 1e-9)."""
    from pyscf import dft, gto, lib

    lib.num_threads(1)
    mol = gto.M(atom=[(int(z), tuple(p)) for z, p in zip(atoms.numbers, atoms.positions)], basis="def2-svp",
                unit="Angstrom", verbose=0)
    t0 = time.process_time()
    mf = dft.RKS(mol, xc="pbe").density_fit(auxbasis="def2-universal-jkfit")
    mf.conv_tol = 1e-9
    mf.kernel()
    mf.nuc_grad_method().kernel()
    return time.process_time() - t0


if __name__ == "__main__":
    raise SystemExit(main())
