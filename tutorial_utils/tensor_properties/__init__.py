"""Tensor properties of crystals with an E(3)-equivariant network (notebook 07), one concept a module:

* :mod:`~tutorial_utils.tensor_properties.crystal` – :func:`standardize` (the idealized primitive
  standard cell in the standard frame, its exact point group), :func:`neumann_residual`,
  :func:`forbidden_components`, :func:`rotate_tensor`;
* :mod:`~tutorial_utils.tensor_properties.data` – the dielectric and elastic data sets
  (:func:`load_dielectric`, :func:`load_elastic`, :func:`parse_tensor`, Voigt <-> Cartesian);
* :mod:`~tutorial_utils.tensor_properties.targets` – what is learned: ``log(eps - 1)`` as
  ``1x0e + 1x2e`` irreps, ``C / 100 GPa`` as ``2x0e + 2x2e + 1x4e``; Voigt moduli;
* :mod:`~tutorial_utils.tensor_properties.model` – :class:`TensorNet` (a head on the shared
  backbone; ``isotropic=True`` for the trace-only baseline) and :class:`CartesianNet` (the
  plain 9-number baseline);
* :mod:`~tutorial_utils.tensor_properties.metrics` – :func:`dielectric_metrics`,
  :func:`mean_and_stderr`;
* :mod:`~tutorial_utils.tensor_properties.recipe` – graphs, losses, ``build_model``,
  ``train_model``, ``predict_dielectric`` / ``predict_elastic``, ``pretrained()``, and the
  settings ``MODEL_HPARAMS`` / ``TRAIN_HPARAMS``.
"""

from .crystal import CRYSTAL_SYSTEMS, Standardized, forbidden_components, neumann_residual, rotate_tensor, standardize
from .data import (
    MalformedRowError,
    TensorRecord,
    cartesian_to_voigt,
    load_dielectric,
    load_elastic,
    parse_tensor,
    voigt_to_cartesian,
)
from .metrics import METRIC_NAMES, dielectric_metrics, mean_and_stderr, principal_axes
from .model import CartesianNet, TensorNet, hidden_irreps_for
from .recipe import (
    DIELECTRIC_SPECIES,
    KINDS,
    MODEL_HPARAMS,
    SPLIT,
    TRAIN_HPARAMS,
    build_model,
    dielectric_graphs,
    dielectric_loss,
    elastic_graphs,
    elastic_loss,
    predict_dielectric,
    predict_elastic,
    pretrained,
    split_records,
    train_model,
)
from .targets import (
    DIELECTRIC,
    ELASTIC,
    ELASTIC_SCALE,
    anisotropic_part,
    dielectric_from_log,
    log_susceptibility,
    voigt_moduli,
)

__all__ = [
    "CRYSTAL_SYSTEMS",
    "DIELECTRIC",
    "DIELECTRIC_SPECIES",
    "ELASTIC",
    "ELASTIC_SCALE",
    "KINDS",
    "METRIC_NAMES",
    "MODEL_HPARAMS",
    "SPLIT",
    "TRAIN_HPARAMS",
    "CartesianNet",
    "MalformedRowError",
    "Standardized",
    "TensorNet",
    "TensorRecord",
    "anisotropic_part",
    "build_model",
    "cartesian_to_voigt",
    "dielectric_from_log",
    "dielectric_graphs",
    "dielectric_loss",
    "dielectric_metrics",
    "elastic_graphs",
    "elastic_loss",
    "forbidden_components",
    "hidden_irreps_for",
    "load_dielectric",
    "load_elastic",
    "log_susceptibility",
    "mean_and_stderr",
    "neumann_residual",
    "parse_tensor",
    "predict_dielectric",
    "predict_elastic",
    "pretrained",
    "principal_axes",
    "rotate_tensor",
    "split_records",
    "standardize",
    "train_model",
    "voigt_moduli",
    "voigt_to_cartesian",
]
