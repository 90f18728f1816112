"""Build the Mg3Bi2 end member of notebook 06's alloy check (Mg3(Sb1-xBix)2), which the data set lacks.

    pip install sevenn            # optional: the universal potential SevenNet-0
    python data/phonon_dos/make_mg3bi2.py

Mg3Bi2 has the structure of Mg3Sb2 (anti-La2O3 type, P-3m1, 5 atoms). Starting from the data
set's Mg3Sb2 (mp-2646, relaxed with PBEsol by Petretto et al. 2018) with every Sb replaced by
Bi, SevenNet-0 relaxes cell and positions (space group kept). SevenNet-0 learned PBE, whose
cells are larger than PBEsol's, so the cell is then corrected by the strain that takes
SevenNet-0's own relaxed Mg3Sb2 to the data set's Mg3Sb2 (C_Bi = C_Bi,7net @ inv(C_Sb,7net) @ C_Sb,data):
the data set's lattice for Mg3Sb2 and SevenNet-0's Sb -> Bi change. Writes ``mg3bi2.json`` (cell in Å,
atomic numbers, fractional coordinates, the lattice parameters of each step) and registers it.
"""

from __future__ import annotations

import json
import sys
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools/, also when not installed
from tools.datagen import manifest_path, register_file  # noqa: E402
from tutorial_utils.data.phonon import load_phonon_dos  # noqa: E402
from tutorial_utils.phonons import relax_with_potential, substitute  # noqa: E402

HERE = Path(__file__).resolve().parent


def _a_c(cell: np.ndarray) -> tuple[float, float]:
    from ase.cell import Cell

    a, _, c, *_ = Cell(cell).cellpar()
    return round(float(a), 4), round(float(c), 4)


def main() -> int:
    import sevenn
    from sevenn.calculator import SevenNetCalculator

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        calc = SevenNetCalculator("7net-0", device="cpu")
    mg3sb2 = next(r for r in load_phonon_dos() if r.mp_id == "mp-2646").atoms
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sb_7net, info_sb = relax_with_potential(mg3sb2, calc, fmax=1e-3)
        bi_7net, info_bi = relax_with_potential(substitute(mg3sb2, {51: 83}), calc, fmax=1e-3)
    c_sb_data = np.asarray(mg3sb2.get_cell())
    c_sb_7net, c_bi_7net = np.asarray(sb_7net.get_cell()), np.asarray(bi_7net.get_cell())
    c_bi = c_bi_7net @ np.linalg.inv(c_sb_7net) @ c_sb_data  # SevenNet's Sb -> Bi strain on the data set's cell
    record = {
        "formula": "Mg3Bi2", "cell_A": np.round(c_bi, 6).tolist(),
        "numbers": bi_7net.get_atomic_numbers().tolist(),
        "scaled_positions": np.round(bi_7net.get_scaled_positions(), 6).tolist(),
        "a_c_A": {"Mg3Sb2 data set (PBEsol)": _a_c(c_sb_data), "Mg3Sb2 SevenNet-0": _a_c(c_sb_7net),
                  "Mg3Bi2 SevenNet-0": _a_c(c_bi_7net), "Mg3Bi2 corrected (used)": _a_c(c_bi)},
        "relaxation": {"Mg3Sb2": info_sb, "Mg3Bi2": info_bi}, "sevenn": sevenn.__version__,
        "made_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    (HERE / "mg3bi2.json").write_text(json.dumps(record, indent=1) + "\n")
    register_file(manifest_path(HERE, HERE, "phonon_dos"), HERE / "mg3bi2.json", kind="structure (JSON)")
    print(json.dumps(record["a_c_A"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
