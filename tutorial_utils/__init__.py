"""Shared helpers for the e3nn materials curriculum.

One module per concept:

* :mod:`tutorial_utils.runtime` – quick mode, device, seeds, Colab detection;
* :mod:`tutorial_utils.graphs` – radius graphs for molecules and periodic crystals;
* :mod:`tutorial_utils.symmetry` – O(3) elements and equivariance checks;
* :mod:`tutorial_utils.training` – the training loop and its history;
* :mod:`tutorial_utils.plotting` – learning curves, parity plots, 3D views;
* :mod:`tutorial_utils.data` – the data registry, checksummed downloads, offline mirror.
"""

import warnings

# torch_geometric imports tqdm.auto, which warns "IProgress not found" inside a Jupyter
# kernel without ipywidgets. The curriculum's own progress bars fall back to text bars
# there (tutorial_utils.training), so that warning tells a learner nothing: silence it
# here, before any notebook imports torch_geometric (the setup cell imports us first).
warnings.filterwarnings("ignore", message="IProgress not found", module="tqdm")

from .runtime import get_device, in_colab, is_quick, pick, seed_everything, setup  # noqa: E402

__version__ = "0.1.0"

__all__ = ["__version__", "get_device", "in_colab", "is_quick", "pick", "seed_everything", "setup"]
