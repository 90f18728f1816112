"""The equivariant building blocks every model of the curriculum shares (one concept a module):

* :mod:`~tutorial_utils.nn.radial` – ``BesselBasis`` and ``PolynomialCutoff`` of the edge length;
* :mod:`~tutorial_utils.nn.gate` – ``hidden_irreps`` and the gated nonlinearity ``gate_for``;
* :mod:`~tutorial_utils.nn.interaction` – the ``InteractionBlock`` (tensor-product convolution
  with radial-MLP weights, gate, self-connection) and its ``convolution_paths``;
* :mod:`~tutorial_utils.nn.embedding` – ``SpeciesOneHot``: atomic numbers -> one-hot rows;
* :mod:`~tutorial_utils.nn.backbone` – ``EquivariantBackbone``: graph -> per-atom irreps features;
* :mod:`~tutorial_utils.nn.scatter` – ``scatter_sum`` / ``scatter_mean`` (torch ``index_add_``) and
  ``average_num_neighbors``.

The potential (:mod:`tutorial_utils.potential`), the density model
(:mod:`tutorial_utils.density_model`) and the phonon network (:mod:`tutorial_utils.phonons`)
are thin heads on ``EquivariantBackbone``.
"""

from .backbone import EquivariantBackbone
from .embedding import SpeciesOneHot
from .gate import gate_for, hidden_irreps
from .interaction import InteractionBlock, convolution_paths
from .radial import BesselBasis, PolynomialCutoff
from .scatter import average_num_neighbors, scatter_mean, scatter_sum

__all__ = ["BesselBasis", "EquivariantBackbone", "InteractionBlock", "PolynomialCutoff", "SpeciesOneHot",
           "average_num_neighbors", "convolution_paths", "gate_for", "hidden_irreps", "scatter_mean",
           "scatter_sum"]
