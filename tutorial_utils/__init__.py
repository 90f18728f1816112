"""Shared helpers for the e3nn materials curriculum.

One module per concept:

* :mod:`tutorial_utils.runtime` – quick mode, device (and CPU threads), seeds, Colab detection,
  the headline metric line;
* :mod:`tutorial_utils.graphs` – radius graphs for molecules and periodic crystals;
* :mod:`tutorial_utils.symmetry` – O(3) elements and equivariance checks;
* :mod:`tutorial_utils.nn` – the equivariant toolkit: radial basis, cutoff, gate, the interaction
  block, species one-hot, the backbone every model is a head on, scatter helpers;
* :mod:`tutorial_utils.potential` – the NequIP-style potential (model, loss, ASE calculator,
  data, recipe and ``pretrained()``) of notebook 04;
* :mod:`tutorial_utils.density`, :mod:`tutorial_utils.density_model` – electron densities (05);
* :mod:`tutorial_utils.phonons` – phonon densities of states of crystals (06);
* :mod:`tutorial_utils.tensor_properties` – dielectric and elastic tensors of crystals: data,
  standard frames and Neumann's principle, the tensor network and its baselines, metrics (07);
* :mod:`tutorial_utils.descriptors`, :mod:`tutorial_utils.tensors`, :mod:`tutorial_utils.md` –
  invariant descriptors (03), physical tensors and point groups, molecular dynamics;
* :mod:`tutorial_utils.training` – the training loop and its history;
* :mod:`tutorial_utils.stats` – summary statistics (mean and standard error over seeds);
* :mod:`tutorial_utils.plotting` – learning curves, parity plots, 3D views;
* :mod:`tutorial_utils.data` – the declarative data registry, checksummed downloads, offline mirror;
* :mod:`tutorial_utils.lessons` – code one lesson teaches with (3D Tetris, EMT copper);
* :mod:`tutorial_utils.notebook_cells` – ``show_source`` for the notebooks.
"""

import warnings

# torch_geometric imports tqdm.auto, which warns "IProgress not found" inside a Jupyter
# kernel without ipywidgets. The curriculum's own progress bars fall back to text bars
# there (tutorial_utils.training), so that warning tells a learner nothing: silence it
# here, before any notebook imports torch_geometric (the setup cell imports us first).
warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")

from .runtime import cpu_threads, get_device, headline, in_colab, is_quick, pick, seed_everything, setup  # noqa: E402

__version__ = "0.1.0"

__all__ = ["__version__", "cpu_threads", "get_device", "headline", "in_colab", "is_quick", "pick", "seed_everything",
           "setup"]
