# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/e3nn-materials/e3nn-materials-tutorial/blob/v0.1.0/notebooks/templates/template.ipynb)
#
# *On Colab, choose a GPU first: Runtime → Change runtime type → a GPU accelerator.
# The setup cell keeps Colab's own torch and installs only what is missing.*
#
# # NN. Title of the notebook

# %% [markdown]
# ## What you will learn
# - one goal per line, each a thing the learner can *do* afterwards
#
# **Prerequisites:** which notebooks come first, what Python/physics is assumed.
#
# **Run time** on 2 CPU cores: quick mode (`TUTORIAL_QUICK=1`) about N min, full mode about M min.

# %%
# Setup: on Colab, install the tutorial package (pinned); elsewhere nothing is installed.
import importlib.util
import os
import subprocess
import sys

if ("google.colab" in sys.modules or os.environ.get("TUTORIAL_FORCE_COLAB") == "1") and (
    importlib.util.find_spec("tutorial_utils") is None
):
    repo = os.environ.get("TUTORIAL_REPO_URL", "git+https://github.com/e3nn-materials/e3nn-materials-tutorial@v0.1.0")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", repo], check=True)

from tutorial_utils import setup

device = setup(seed=0)

# %% [markdown]
# ## 1. A section
# The idea in one paragraph, then the equation:
#
# $$ f(Q x) = D(Q)\, f(x) \quad \forall Q \in O(3) $$

# %%
import torch
from e3nn import o3

x = torch.randn(10, 3, dtype=torch.float64)
Q = o3.rand_matrix(dtype=torch.float64)
Y = o3.spherical_harmonics('2e', x, normalize=True)
Y_rot = o3.spherical_harmonics('2e', x @ Q.T, normalize=True)
D = o3.Irreps('2e').D_from_matrix(Q)

# %% [markdown]
# The numerical check of the claim (deterministic: its output is checked by nbval):

# %%
# NBVAL_CHECK_OUTPUT
err = (Y_rot - Y @ D.T).abs().max().item()
print(f'equivariance error below 1e-12: {err < 1e-12}')

# %% [markdown]
# ## Summary
# - what was shown, each point with the number that showed it

# %% [markdown]
# ## Exercises
# **Exercise 1.** A task, with a hint.

# %% tags=["solution"]
# Solution to exercise 1
print(o3.Irreps('1o') * 2)

# %% [markdown]
# ## References
# 1. Geiger and Smidt, e3nn: Euclidean Neural Networks, arXiv:2207.09453 (2022).
