"""Phonon densities of states of crystals with an E(3)-equivariant network (notebook 06),
one concept a module:

* :mod:`~tutorial_utils.phonons.features` – element+mass node features (weighted for alloys) and
  :func:`crystal_to_data` (a crystal as a periodic radius graph);
* :mod:`~tutorial_utils.phonons.model` – :class:`PhononDoSNet` (a pooled DoS head on
  :class:`~tutorial_utils.nn.EquivariantBackbone`), :func:`predict_dos`, :func:`dos_loss`;
* :mod:`~tutorial_utils.phonons.split` – :func:`element_stratified_split`;
* :mod:`~tutorial_utils.phonons.metrics` – :func:`dos_metrics` (MSE, R^2 with a global and with
  per-bin means), :func:`heat_capacity`, :func:`average_frequency`;
* :mod:`~tutorial_utils.phonons.cells` – :func:`cell_variants` (primitive, conventional, super cell);
* :mod:`~tutorial_utils.phonons.phonopy_dos` – :func:`potential_phonon_dos` (an interatomic
  potential + phonopy, the other route);
* ``MODEL_HPARAMS`` / ``TRAIN_HPARAMS``: the settings of notebook 06 and its benchmark.

Units: frequencies in cm^-1, distances in Å, masses in atomic mass units (u),
heat capacities in k_B per atom (the Dulong-Petit limit is 3).
"""

from ..nn import average_num_neighbors
from .cells import cell_variants
from .features import MASS_SCALE, N_ELEMENTS, SiteSpecies, crystal_to_data, node_features
from .metrics import CM1_TO_K, average_frequency, dos_metrics, heat_capacity
from .model import PhononDoSNet, dos_loss, predict_dos
from .phonopy_dos import THZ_TO_CM1, potential_phonon_dos
from .split import element_stratified_split

# The settings notebook 06 (full mode) and benchmarks/phonon_dos.py use. The cosine schedule
# spans ``epochs``, which on 2 CPU cores about fill the ``max_seconds`` budget (about 6 s an
# epoch for this network, measured in notebook 06).
MODEL_HPARAMS = {"r_max": 5.0, "l_max": 1, "mul": 64, "mul_vec": 16, "num_layers": 3}
TRAIN_HPARAMS = {"batch_size": 16, "lr": 5e-3, "weight_decay": 0.05, "schedule": "cosine",
                 "epochs": 85, "max_seconds": 540.0}

__all__ = [
    "CM1_TO_K",
    "MASS_SCALE",
    "MODEL_HPARAMS",
    "N_ELEMENTS",
    "PhononDoSNet",
    "SiteSpecies",
    "THZ_TO_CM1",
    "TRAIN_HPARAMS",
    "average_frequency",
    "average_num_neighbors",
    "cell_variants",
    "crystal_to_data",
    "dos_loss",
    "dos_metrics",
    "element_stratified_split",
    "heat_capacity",
    "node_features",
    "potential_phonon_dos",
    "predict_dos",
]
