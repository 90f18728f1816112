"""The NequIP-style interatomic potential of notebook 04, one concept a module:

* :mod:`~tutorial_utils.potential.model` – :class:`EquivariantPotential`, an energy head on
  :class:`~tutorial_utils.nn.EquivariantBackbone` (forces by autograd);
* :mod:`~tutorial_utils.potential.loss` – :func:`fit_energy_reference` and :func:`energy_force_loss`;
* :mod:`~tutorial_utils.potential.calculator` – :class:`EquivariantCalculator` for ASE;
* :mod:`~tutorial_utils.potential.data` – :func:`load_frames`, :func:`frames_to_data`, :func:`split_indices`;
* :mod:`~tutorial_utils.potential.recipe` – the settings and steps notebook 04 and its scripts
  share: :func:`build_potential`, :func:`train_potential`, :func:`predict`,
  :func:`mean_absolute_errors`, :func:`held_out_errors` (on the three held-out sets),
  :func:`frames_for_error` and :func:`pretrained` (the shipped weights).

The building blocks (``BesselBasis``, ``PolynomialCutoff``, ``InteractionBlock``,
``average_num_neighbors``) live in :mod:`tutorial_utils.nn` and are importable from here too.
Units: positions Å, energies eV, forces eV/Å.
"""

from ..nn import BesselBasis, InteractionBlock, PolynomialCutoff, average_num_neighbors
from .calculator import EquivariantCalculator
from .data import FrameSet, frames_to_data, load_frames, split_indices
from .loss import energy_force_loss, fit_energy_reference
from .model import EquivariantPotential
from .recipe import (
                     BUDGET_TRAINING,
                     ETHANOL_SPECIES,
                     HELD_OUT_SETS,
                     LABELS,
                     MODEL_HPARAMS,
                     TRAIN_HPARAMS,
                     build_potential,
                     checkpoint_name,
                     frames_for_error,
                     held_out_errors,
                     label_keys,
                     mean_absolute_errors,
                     predict,
                     pretrained,
                     pretrained_card,
                     train_potential,
)

__all__ = [
    "BUDGET_TRAINING",
    "BesselBasis",
    "ETHANOL_SPECIES",
    "EquivariantCalculator",
    "EquivariantPotential",
    "FrameSet",
    "HELD_OUT_SETS",
    "LABELS",
    "InteractionBlock",
    "MODEL_HPARAMS",
    "PolynomialCutoff",
    "TRAIN_HPARAMS",
    "average_num_neighbors",
    "build_potential",
    "checkpoint_name",
    "energy_force_loss",
    "fit_energy_reference",
    "frames_for_error",
    "frames_to_data",
    "held_out_errors",
    "label_keys",
    "load_frames",
    "mean_absolute_errors",
    "predict",
    "pretrained",
    "pretrained_card",
    "split_indices",
    "train_potential",
]
