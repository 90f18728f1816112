"""Phonon densities of states of crystals with an E(3)-equivariant network (notebook 06),
one concept a module:

* :mod:`~tutorial_utils.phonons.features` – element+mass node features (weighted for alloys) and
  :func:`crystal_to_data` (a crystal as a periodic radius graph);
* :mod:`~tutorial_utils.phonons.model` – :class:`PhononDoSNet` (a pooled DoS head on
  :class:`~tutorial_utils.nn.EquivariantBackbone`), :func:`predict_dos`, :func:`dos_loss`;
* :mod:`~tutorial_utils.phonons.split` – :func:`element_stratified_split`, :func:`random_split`,
  :func:`chen2021_split` (the 2021 tutorial's published split);
* :mod:`~tutorial_utils.phonons.recipe` – ``MODEL_HPARAMS``/``TRAIN_HPARAMS`` (the settings of
  notebook 06, its benchmark and its weights), :func:`split_protocol`, :func:`build_dos_model`,
  :func:`train_dos_model` (a cosine schedule over a wall-clock budget), :func:`held_out_metrics`,
  :func:`fit_protocol` (split, train and score in one call), :func:`pretrained`;
* :mod:`~tutorial_utils.phonons.metrics` – :func:`dos_metrics` (MSE, R^2 with a global and with
  per-bin means), :func:`heat_capacity`, :func:`average_frequency`;
* :mod:`~tutorial_utils.phonons.alloys` – :func:`substitute`, :func:`vegard_alloy` (virtual crystals);
* :mod:`~tutorial_utils.phonons.cells` – :func:`cell_variants` (primitive, conventional, super cell);
* :mod:`~tutorial_utils.phonons.phonopy_dos` – :func:`potential_phonon_dos` (an interatomic
  potential + phonopy, the other route) and :func:`relax_with_potential` (relax first, so the
  phonons are taken at the potential's own minimum).

Units: frequencies in cm^-1, distances in Å, masses in atomic mass units (u),
heat capacities in k_B per atom (the Dulong-Petit limit is 3).
"""

from ..nn import average_num_neighbors
from .alloys import substitute, vegard_alloy
from .cells import cell_variants
from .features import MASS_SCALE, N_ELEMENTS, SiteSpecies, crystal_to_data, node_features
from .metrics import CM1_TO_K, average_frequency, dos_metrics, heat_capacity
from .model import PhononDoSNet, dos_loss, predict_dos
from .phonopy_dos import (
    THZ_TO_CM1,
    broadened_dos,
    potential_phonon_dos,
    potential_phonon_modes,
    relax_with_potential,
    savgol_dos,
)
from .recipe import (
    MODEL_HPARAMS,
    PROTOCOLS,
    TRAIN_HPARAMS,
    ProtocolRun,
    build_dos_model,
    fit_protocol,
    held_out_metrics,
    pretrained,
    split_protocol,
    train_dos_model,
)
from .split import CHEN2021_ROWS, chen2021_split, element_stratified_split, random_split

__all__ = [
    "CHEN2021_ROWS",
    "CM1_TO_K",
    "MASS_SCALE",
    "MODEL_HPARAMS",
    "N_ELEMENTS",
    "PROTOCOLS",
    "PhononDoSNet",
    "ProtocolRun",
    "SiteSpecies",
    "THZ_TO_CM1",
    "TRAIN_HPARAMS",
    "average_frequency",
    "average_num_neighbors",
    "build_dos_model",
    "broadened_dos",
    "cell_variants",
    "chen2021_split",
    "crystal_to_data",
    "dos_loss",
    "dos_metrics",
    "element_stratified_split",
    "fit_protocol",
    "heat_capacity",
    "held_out_metrics",
    "node_features",
    "potential_phonon_dos",
    "potential_phonon_modes",
    "predict_dos",
    "pretrained",
    "random_split",
    "relax_with_potential",
    "savgol_dos",
    "split_protocol",
    "substitute",
    "train_dos_model",
    "vegard_alloy",
]
