"""The same crystal in several cells (primitive, conventional, super cell): a model of a
crystal must give the same answer for every choice."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
from ase import Atoms

__all__ = ["cell_variants"]


def cell_variants(atoms: Atoms, supercell: Sequence[Sequence[int]] = ((2, 0, 0), (0, 2, 0), (1, 0, 1))
                  ) -> dict[str, Atoms]:
    """The same crystal in several cells: ``primitive`` and ``conventional`` standard cells
    (spglib via pymatgen, possibly in another orientation) and a ``supercell`` of the input
    cell (integer matrix, default a sheared 4x cell). Returns ``{name: ase.Atoms}``."""
    from ase.build import make_supercell
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    with warnings.catch_warnings():
        # spglib 2.5+ announces a change of its error handling each call (a DeprecationWarning
        # aimed at pymatgen, which calls it); the results are unaffected.
        warnings.filterwarnings("ignore", message="Set OLD_ERROR_HANDLING", category=DeprecationWarning)
        sga = SpacegroupAnalyzer(AseAtomsAdaptor.get_structure(atoms), symprec=1e-3)
        primitive = sga.get_primitive_standard_structure()
        conventional = sga.get_conventional_standard_structure()
    return {
        "input": atoms.copy(),
        "primitive": AseAtomsAdaptor.get_atoms(primitive),
        "conventional": AseAtomsAdaptor.get_atoms(conventional),
        "supercell": make_supercell(atoms, np.asarray(supercell)),
    }
