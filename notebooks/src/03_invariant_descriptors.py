# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/e3nn-materials/e3nn-materials-tutorial/blob/v0.1.0/notebooks/03_invariant_descriptors.ipynb)
#
# *On Colab, choose a GPU first: Runtime → Change runtime type → a GPU accelerator.
# The setup cell keeps Colab's own torch and installs only what is missing.*
#
# # 03. Describing atomic geometry with equivariant and invariant functions
#
# **The talk behind this notebook** (MRS Fall Meeting 2021 e3nn tutorial, recorded): Tutorial 3, by Uhrin and Hardin, the third video of [the recorded playlist](https://www.youtube.com/watch?v=q9EwZsHY1sk&list=PLx3xbphkO3qIlBoESkbafXaDtr0tq5iRd).

# %% [markdown]
# ## What you will learn
# - explain why raw coordinates are a poor input and build a first invariant, the Gram matrix;
# - turn the neighbours of an atom into a **signal on the sphere** with spherical harmonics and
#   read the neighbour directions back from it;
# - build the rotation invariants of that signal, the **power spectrum** and the **bispectrum**
#   (with e3nn tensor products), and check them against Steinhardt's bond-order values;
# - show with a numerical example that the power spectrum is *incomplete* (two different
#   environments share it), that the bispectrum separates this pair, though it is not
#   complete in general either;
# - fit a geometry to a power spectrum by gradient descent and measure how far it ends up from the
#   environment the power spectrum came from;
# - classify the atoms of a copper crystal as fcc / hcp / bcc / disordered while it melts.
#
# **Prerequisites:** notebook 01 (`01_symmetry_intro`: why symmetry matters, invariant against
# equivariant models) and notebook 02 (`02_irreps_tensor_products`: irreps, spherical harmonics,
# tensor products). Graphs of atoms are not needed: the neighbour lists of the crystals in section 6
# (all atoms within a cutoff, periodic images included) are built by `tutorial_utils.graphs`.
# Python, NumPy, a little linear algebra; no machine learning is needed here.
#
# **Run time** on 2 CPU cores: quick mode (`TUTORIAL_QUICK=1`) under 1 min, full mode about 4 min
# (most of it the molecular dynamics of section 6). Nothing is trained here and the descriptors and
# the EMT molecular dynamics are small CPU computations, so a GPU changes nothing here.

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

# %%
import math
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from e3nn import o3
from plotly.subplots import make_subplots
from scipy.optimize import linear_sum_assignment

from tutorial_utils import cpu_threads, headline, pick
from tutorial_utils.descriptors import (Bispectrum, ReferenceClassifier, aligned_rmsd, ideal_environment,
                                        irreps_sh, neighbour_average, power_spectrum, radial_basis,
                                        sh_projection, steinhardt_q, structure_descriptors)
from tutorial_utils.notebook_cells import show_source
from tutorial_utils.plotting import sphere_grid, view_structure
from tutorial_utils.symmetry import random_o3, random_rotation, rotate_irreps

torch.set_default_dtype(torch.float64)  # invariance checks at round-off level need float64
cpu_threads(device, 1)  # the tensors here are small: on the CPU extra threads only add overhead

# %% [markdown]
# ## 1. Raw coordinates, and a first invariant
#
# The *local environment* of an atom is the list of vectors $\mathbf r_j = \mathbf x_j - \mathbf x_i$
# from the atom $i$ to its neighbours $j$ within a cutoff. Subtracting the centre already removes
# translations. But the $M\times 3$ matrix $X$ of these vectors still changes when we
#
# * **rotate** the environment ($X \to X Q^\top$), although the physics does not change;
# * **renumber** the neighbours ($X \to P X$ for a permutation matrix $P$), although the labels are arbitrary.
#
# A descriptor for a model of energies must be invariant under both. The first candidate is the
# **Gram matrix** of all scalar products,
#
# $$ G = X X^\top, \qquad G_{jk} = \mathbf r_j \cdot \mathbf r_k, \qquad
# (XQ^\top)(XQ^\top)^\top = X Q^\top Q X^\top = G, \qquad (PX)(PX)^\top = P G P^\top \neq G .$$
#
# Let us check both statements on a thermally disturbed fcc environment of copper.

# %%
d_nn = 2.55  # Å, nearest-neighbour distance in fcc copper
gen = torch.Generator().manual_seed(0)
centre = torch.tensor([1.0, -2.0, 0.5])  # Å, an arbitrary position of the central atom
neighbours = centre + ideal_environment("fcc", d_nn) + 0.1 * torch.randn(12, 3, generator=gen)
X = neighbours - centre  # (12, 3) Å, translation removed

Q = random_o3()  # a random rotation, possibly combined with the inversion
perm = torch.randperm(12, generator=gen)
X_rot, X_perm = X @ Q.T, X[perm]
G, G_rot, G_perm = X @ X.T, X_rot @ X_rot.T, X_perm @ X_perm.T  # (12, 12), Å^2

shifted = (neighbours + 3.0) - (centre + 3.0)  # translate everything by 3 Å
print(f"translation: X changes by {(shifted - X).abs().max():.1e} Å (centre-relative vectors)")
print(f"rotation:    X changes by up to {(X_rot - X).abs().max():.2f} Å")
print(f"permutation: X changes by up to {(X_perm - X).abs().max():.2f} Å")

# %% [markdown]
# The Gram matrix removes the rotation, but not the permutation:

# %%
# NBVAL_CHECK_OUTPUT
print("G is rotation invariant (error < 1e-10):   ", bool((G_rot - G).abs().max() < 1e-10))
print("G is permutation invariant:                ", bool((G_perm - G).abs().max() < 1e-10))
print("permuted G equals P G P^T (error < 1e-10): ", bool((G_perm - G[perm][:, perm]).abs().max() < 1e-10))

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
for ax, M, title in zip(axes, [G, G_rot, G_perm], ["G", "G after a rotation", "G after renumbering"]):
    im = ax.imshow(M.numpy(), cmap="RdBu_r", vmin=-d_nn**2, vmax=d_nn**2)
    ax.set_title(title)
    ax.set_xlabel("neighbour k")
axes[0].set_ylabel("neighbour j")
fig.colorbar(im, ax=axes, label=r"$\mathbf{r}_j\cdot\mathbf{r}_k$ (Å$^2$)")
plt.show()

# %% [markdown]
# Sorting rows and columns would fix the order, but sorting is not smooth (the order jumps when two
# values cross) and $G$ grows with the number of neighbours. The descriptors below are smooth, have
# a fixed length and are invariant by construction.
#
# ## 2. The environment as a signal on the sphere
#
# Put a small bump at the direction of each neighbour and expand the result in spherical harmonics:
#
# $$ S(\hat{\mathbf u}) = \sum_j R(r_j)\, \delta(\hat{\mathbf u}, \hat{\mathbf r}_j)
# \;\approx\; \sum_{l=0}^{l_\max}\sum_{m=-l}^{l} c_{lm}\, Y_{lm}(\hat{\mathbf u}), \qquad
# c_{lm} = \sum_j R(r_j)\, Y_{lm}(\hat{\mathbf r}_j). $$
#
# The sum over $j$ makes $c$ **permutation invariant**; a radial function $R$ (below, a basis
# $R_n$ of a few Gaussians with a smooth cutoff) keeps the distances. Because $Y_l(Q\mathbf r) =
# D^l(Q)\,Y_l(\mathbf r)$, the coefficients are **equivariant**: $c_l \to D^l(Q)\,c_l$, one irrep per
# $l$, irreps `0e + 1o + 2e + ...`. The projection is a few lines (`tutorial_utils.descriptors`):

# %%
show_source(sh_projection)

# %%
l_max = 8
names = ["fcc", "bcc8", "hcp", "ico"]
titles = {"fcc": "fcc (12 neighbours)", "bcc8": "bcc (8)", "hcp": "hcp (12)", "ico": "icosahedron (12)"}
envs = {name: ideal_environment(name, d_nn) for name in names}  # (M, 3) Å each
coeffs = {name: sh_projection(v, l_max)[0] for name, v in envs.items()}  # one channel R = 1: (81,)
print(f"irreps {irreps_sh(l_max)}: {coeffs['fcc'].shape[0]} coefficients per environment")

# %% [markdown]
# The signal on the sphere for four environments (radius and colour show $S$; black dots are the
# neighbour directions). Drag to rotate:

# %%
xyz, _ = sphere_grid(30)  # (30, 60, 3) unit vectors
Y_plot = o3.spherical_harmonics(irreps_sh(l_max), torch.as_tensor(xyz.reshape(-1, 3)), normalize=True,
                                normalization="component")
fig = make_subplots(rows=1, cols=4, specs=[[{"type": "scene"}] * 4], subplot_titles=[titles[n] for n in names])
for k, name in enumerate(names):
    f = (Y_plot @ coeffs[name]).reshape(xyz.shape[:2]).numpy()
    r = 1 + 0.5 * f / np.abs(f).max()
    fig.add_trace(go.Surface(x=r * xyz[..., 0], y=r * xyz[..., 1], z=r * xyz[..., 2], surfacecolor=f,
                             colorscale="RdBu_r", cmid=0, showscale=False), 1, k + 1)
    u = 1.6 * (envs[name] / envs[name].norm(dim=1, keepdim=True)).numpy()
    fig.add_trace(go.Scatter3d(x=u[:, 0], y=u[:, 1], z=u[:, 2], mode="markers",
                               marker=dict(size=3, color="black"), showlegend=False), 1, k + 1)
fig.update_layout(height=330, margin=dict(l=0, r=0, t=30, b=0))
fig.show()

# %% [markdown]
# **It rotates with the environment.** Rotating the neighbours by $Q$ must give the coefficients
# $D(Q)\,c$, with $D(Q)$ the block-diagonal Wigner matrix of the irreps:

# %%
# NBVAL_CHECK_OUTPUT
Q = random_o3()
c_hcp = coeffs["hcp"]
c_hcp_rotated = sh_projection(envs["hcp"] @ Q.T, l_max)[0]
err = (c_hcp_rotated - rotate_irreps(irreps_sh(l_max), c_hcp, Q)).abs().max()
print("S(Q r) = D(Q) S(r), error < 1e-10:", bool(err < 1e-10))
print("the coefficients themselves changed:", bool((c_hcp_rotated - c_hcp).abs().max() > 0.1))


# %% [markdown]
# **Reading the neighbours back.** With $l_\max = 8$ the bumps are narrow enough that each
# neighbour gives one maximum of $S$. We evaluate $S$ on a near-uniform (Fibonacci) grid of points,
# keep the grid points larger than their 8 nearest grid neighbours, take the $M$ highest, and match
# them to the true directions (Hungarian matching). The environments are first given a random
# orientation, so nothing depends on the axes.

# %%
def fibonacci_sphere(n: int) -> torch.Tensor:
    """n nearly uniform unit vectors (n, 3)."""
    k = torch.arange(n) + 0.5
    z = 1 - 2 * k / n
    phi = math.pi * (1 + 5**0.5) * k
    return torch.stack([(1 - z**2).sqrt() * phi.cos(), (1 - z**2).sqrt() * phi.sin(), z], dim=1)


grid = fibonacci_sphere(6000)
grid_spacing = math.degrees(math.sqrt(4 * math.pi / len(grid)))  # typical distance between points
grid_nbrs = torch.cdist(grid, grid).topk(9, largest=False).indices[:, 1:]
Y_grid = o3.spherical_harmonics(irreps_sh(l_max), grid, normalize=True, normalization="component")


def peak_directions(c: torch.Tensor, n_peaks: int) -> torch.Tensor:
    """The n_peaks highest local maxima (n_peaks, 3) of the signal with coefficients c."""
    f = Y_grid @ c
    is_max = (f[:, None] >= f[grid_nbrs]).all(dim=1)
    idx = torch.nonzero(is_max).flatten()
    return grid[idx[f[idx].argsort(descending=True)][:n_peaks]]


peak_errors = {}
for name, v in envs.items():
    v = v @ random_o3().T
    u = v / v.norm(dim=1, keepdim=True)
    cos = (peak_directions(sh_projection(v, l_max)[0], len(v)) @ u.T).clamp(-1, 1).numpy()
    rows, cols = linear_sum_assignment(-cos)
    peak_errors[name] = np.degrees(np.arccos(cos[rows, cols])).max()
    print(f"{name:>5}: {len(v)} peaks, largest angle to the matched neighbour {peak_errors[name]:.1f} deg")
print(f"grid spacing: {grid_spacing:.1f} deg")

# %%
# NBVAL_CHECK_OUTPUT
print("every neighbour recovered within two grid spacings:",
      all(e < 2 * grid_spacing for e in peak_errors.values()))

# %% [markdown]
# ## 3. Invariants: power spectrum and bispectrum
#
# Under a rotation each block $c_l$ is multiplied by an orthogonal matrix $D^l(Q)$, so its length is
# unchanged. With radial channels $n, n'$ this gives the **power spectrum** (a 3-body descriptor:
# centre and two neighbours)
#
# $$ p_{nn'l} = \frac{1}{2l+1}\sum_{m} c_{nlm}\, c_{n'lm} . $$
#
# With one channel, $R = 1/M$ and only the first shell of neighbours, $\sqrt{p_l}$ is
# **Steinhardt's bond-orientational order parameter** $q_l$ (Steinhardt, Nelson, Ronchetti 1983),
# a classic tool to recognise crystal structures.
#
# Lengths forget the relative orientation of the different $l$ blocks. The **bispectrum** keeps it:
# couple $c_{l_1}$ and $c_{l_2}$ to $l_3$ with a tensor product (Clebsch-Gordan coefficients) and
# take the scalar product with $c_{l_3}$ - again an $l_3 \otimes l_3 \to 0$ tensor product:
#
# $$ b_{l_1 l_2 l_3} = \sum_{m_1 m_2 m_3} C^{l_3 m_3}_{l_1 m_1, l_2 m_2}\, c_{l_1 m_1} c_{l_2 m_2} c_{l_3 m_3}
# \qquad (4\text{-body}). $$
#
# In e3nn this is two tensor products ending in a scalar. Each $c_l$ has parity $(-1)^l$, so the
# product of three blocks has parity $(-1)^{l_1+l_2+l_3}$. For $l_1+l_2+l_3$ even, $b_{l_1 l_2 l_3}$
# is a true scalar (`0e`), unchanged by rotations *and* by the inversion. For $l_1+l_2+l_3$ odd it
# is a **pseudoscalar** (`0o`): unchanged by rotations, but it changes sign under the inversion or a
# mirror. These odd components are not zero (computed below). By default `Bispectrum` keeps only
# the even ones, the usual choice for a model of an energy, which a mirror does not change;
# `Bispectrum(l_max, parity=-1)` computes the odd ones:

# %%
show_source(Bispectrum)

# %% [markdown]
# **The same objects in the atomic cluster expansion.** In ACE (Drautz, Phys. Rev. B 99, 014104
# (2019)) the density coefficients $c_{nlm}$ are the *atomic base* $A_{nlm}$, and the rotation
# invariants built from products of $\nu$ of them are the $B$ basis functions of *correlation
# order* $\nu$, which depend on the centre and $\nu$ neighbours at a time (*body order* $\nu+1$):
# $c_{n00}$ is $\nu = 1$ (2-body), the power spectrum is $\nu = 2$ (3-body) and the bispectrum is
# $\nu = 3$ (4-body). Our `Bispectrum` keeps only equal radial channels $n_1 = n_2 = n_3$, a subset
# of ACE's $\nu = 3$ functions. ACE continues to higher $\nu$ by coupling more $A$'s with
# generalised Clebsch-Gordan coefficients. Message-passing networks reach high correlation orders
# another way: the NequIP-style potential of notebook 04 (`04_molecular_dynamics`) couples each
# neighbour's features to the edge's spherical harmonics by a tensor product in every layer, and
# iterating such layers builds features of ever higher correlation order.

# %% [markdown]
# **Exact test: Steinhardt's values.** For perfect environments $q_4$ and $q_6$ are known numbers
# (Steinhardt *et al.* 1983; Mickel *et al.* 2013). Our power spectrum must reproduce them to the
# 3 decimals quoted in the literature:

# %%
# NBVAL_CHECK_OUTPUT
literature = {"fcc": (0.191, 0.575), "hcp": (0.097, 0.485), "bcc8": (0.509, 0.629),
              "bcc14": (0.036, 0.511), "sc": (0.764, 0.354)}
print("environment  q4     q6     equal to the literature")
for name, (q4_ref, q6_ref) in literature.items():
    q4, q6 = steinhardt_q(ideal_environment(name, d_nn), (4, 6)).tolist()
    print(f"{name:<12} {q4:.3f}  {q6:.3f}  {(round(q4, 3), round(q6, 3)) == (q4_ref, q6_ref)}")

# %% [markdown]
# The full $q_l$ spectrum, $l = 0 \dots 10$, is a fingerprint of each environment (note the
# icosahedron, which has no $l = 2, 4$ component at all):

# %%
ls = tuple(range(11))
fig, ax = plt.subplots(figsize=(7, 3.2))
for k, name in enumerate(["fcc", "hcp", "bcc14", "ico"]):
    q = steinhardt_q(ideal_environment(name, d_nn), ls).numpy()
    ax.bar(np.array(ls) + 0.2 * (k - 1.5), q, width=0.2, label=name)
ax.set_xlabel("angular momentum l")
ax.set_ylabel(r"Steinhardt $q_l$ (dimensionless)")
ax.set_xticks(ls)
ax.legend()
plt.show()
q_ico = steinhardt_q(ideal_environment("ico", d_nn), (2, 4, 6)).tolist()
print("icosahedron: q2 = {:.3f}, q4 = {:.3f}, q6 = {:.3f}".format(*q_ico))


# %% [markdown]
# Both descriptors are invariant under rotations, inversion and permutations of the neighbours.
# Here with a radial basis of 3 Gaussians between `r_min = 1.5` and `r_max = 3.5` Å, on a random environment:

# %%
def invariants(x: torch.Tensor, l_max: int = 4, n_radial: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """Power spectrum and bispectrum of one environment x (M, 3), Å."""
    c = sh_projection(x, l_max, radial_basis(x.norm(dim=1), n_radial, r_max=3.5, r_min=1.5))
    return power_spectrum(c, l_max), Bispectrum(l_max)(c)


x = torch.randn(9, 3, generator=gen)
x = x / x.norm(dim=1, keepdim=True) * (2.2 + 0.8 * torch.rand(9, 1, generator=gen))  # Å
p, b = invariants(x)
p_moved, b_moved = invariants((x @ random_o3().T)[torch.randperm(9, generator=gen)])
print(f"{p.numel()} power-spectrum and {b.numel()} bispectrum components")
print(f"relative change after rotation + permutation: power {((p_moved - p).norm() / p.norm()):.1e}, "
      f"bispectrum {((b_moved - b).norm() / b.norm()):.1e}")

# %%
# NBVAL_CHECK_OUTPUT
print("invariant to 1e-10:", bool((p_moved - p).norm() / p.norm() < 1e-10),
      bool((b_moved - b).norm() / b.norm() < 1e-10))

# %% [markdown]
# **Pseudoscalars.** The components with $l_1+l_2+l_3$ odd of the same environment, and of its
# mirror image (reflected in the plane $z = 0$). A random environment has no mirror symmetry, so its
# mirror image is a different, *chiral* partner. (With one radial channel per product, the odd
# couplings with two equal $l$ vanish identically, so `parity=-1` keeps $l_1 < l_2 < l_3$.)

# %%
l_odd = 6  # l_max = 4 allows only one odd path with l1 < l2 < l3, (2, 3, 4)
pseudoscalar_bispectrum = Bispectrum(l_odd, parity=-1)


def pseudoscalars(x: torch.Tensor) -> torch.Tensor:
    """The 0o bispectrum components (3 * n_paths,) of one environment x (M, 3), Å."""
    return pseudoscalar_bispectrum(sh_projection(x, l_odd, radial_basis(x.norm(dim=1), 3, r_max=3.5, r_min=1.5)))


mirror = x * torch.tensor([1.0, 1.0, -1.0])  # the environment reflected in the plane z = 0
b_odd, b_odd_mirror, b_odd_rotated = pseudoscalars(x), pseudoscalars(mirror), pseudoscalars(x @ random_rotation().T)
b_even_mirror = invariants(mirror)[1]
print(f"0o paths (l1, l2, l3): {pseudoscalar_bispectrum.paths}, {b_odd.numel()} components with 3 radial channels")
print(f"largest |0o component| {b_odd.abs().max():.1e}; largest |0e component| {b.abs().max():.1e}")

# %%
# NBVAL_CHECK_OUTPUT
print("0o components are not zero (largest above 1e-6):  ", bool(b_odd.abs().max() > 1e-6))
print("rotation leaves them unchanged (relative 1e-10):   ",
      bool((b_odd_rotated - b_odd).norm() / b_odd.norm() < 1e-10))
print("the mirror image flips their sign (relative 1e-10):",
      bool((b_odd_mirror + b_odd).norm() / b_odd.norm() < 1e-10))
print("the mirror image keeps every 0e component:         ",
      bool((b_even_mirror - b).norm() / b.norm() < 1e-10))


# %% [markdown]
# ## 4. Completeness: two environments the power spectrum cannot tell apart
#
# By the addition theorem, $\sum_m Y_{lm}(\hat{\mathbf r}_j) Y_{lm}(\hat{\mathbf r}_k) = (2l+1)
# P_l(\cos\theta_{jk})$, so
#
# $$ p_{nn'l} = \sum_{j,k} R_n(r_j)\, R_{n'}(r_k)\, P_l(\cos \theta_{jk}) :$$
#
# the power spectrum only sees the list of (distance, distance, angle) triangles around the centre.
# Two environments with the **same list of triangles but different shapes** have identical power
# spectra for every $l$ and every radial basis. Such *degenerate pairs* were constructed for
# 3-body descriptors by Pozdnyakov *et al.* (2020).
#
# We build one from a classic idea of crystallography, *homometric sets* (Patterson 1944): point sets
# that are not congruent but have the same multiset of distances. On a ring of 8 equally spaced
# sites, the sets {0, 1, 2, 5} and {0, 1, 3, 4} have the same multiset of separations (in units of
# 45°). We put these neighbours on a ring of radius $d_{nn}$ around the centre and add two
# neighbours on the axis above and below, which see every ring atom at 90° in both environments:

# %%
def ring_environment(sites: list[int], radius: float = d_nn) -> torch.Tensor:
    """Neighbours on sites k * 45 deg of a ring in the xy plane, plus two on the z axis (M, 3), Å."""
    phi = torch.tensor(sites, dtype=torch.float64) * 2 * math.pi / 8
    ring = torch.stack([phi.cos(), phi.sin(), torch.zeros_like(phi)], dim=1)
    return radius * torch.cat([ring, torch.tensor([[0.0, 0.0, 1.0], [0.0, 0.0, -1.0]])])


def pair_angles(x: torch.Tensor) -> list[int]:
    """Sorted angles (degrees, rounded) between all pairs of neighbour directions."""
    u = x / x.norm(dim=1, keepdim=True)
    j, k = torch.triu_indices(len(x), len(x), offset=1)
    return sorted(torch.rad2deg(torch.arccos((u[j] * u[k]).sum(1).clamp(-1, 1))).round().int().tolist())


env_A, env_B = ring_environment([0, 1, 2, 5]), ring_environment([0, 1, 3, 4])

# %%
# NBVAL_CHECK_OUTPUT
l_deg = 8
bispectrum_deg = Bispectrum(l_deg)
cA = sh_projection(env_A, l_deg, radial_basis(env_A.norm(dim=1), 3, r_max=3.5, r_min=1.5))
cB = sh_projection(env_B, l_deg, radial_basis(env_B.norm(dim=1), 3, r_max=3.5, r_min=1.5))
pA, pB = power_spectrum(cA, l_deg), power_spectrum(cB, l_deg)
bA, bB = bispectrum_deg(cA), bispectrum_deg(cB)
print("angles between neighbours of A (deg):", pair_angles(env_A))
print("same multiset of angles in B:        ", pair_angles(env_A) == pair_angles(env_B))
print(f"RMSD between A and B after the best rotation, reflection and renumbering: "
      f"{aligned_rmsd(env_A.numpy(), env_B.numpy()):.2f} Å")
print("power spectra equal (relative difference < 1e-12):", bool((pA - pB).norm() / pA.norm() < 1e-12))
print(f"bispectra: relative difference {((bA - bB).norm() / bA.norm()):.2f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(11, 3.3), gridspec_kw={"width_ratios": [1, 1, 2.2]})
for ax, env, label in zip(axes[:2], [env_A, env_B], ["A: sites {0,1,2,5}", "B: sites {0,1,3,4}"]):
    circle = np.linspace(0, 2 * np.pi, 200)
    ax.plot(d_nn * np.cos(circle), d_nn * np.sin(circle), color="lightgrey")
    ax.scatter(env[:-2, 0], env[:-2, 1], s=80, zorder=3)
    ax.scatter([0], [0], marker="x", color="black", label="centre (+ 2 atoms on the z axis)")
    ax.set_aspect("equal")
    ax.set_title(label)
    ax.set_xlabel("x (Å)")
    ax.set_ylabel("y (Å)")
axes[0].legend(fontsize=7, loc="lower left")
path_labels = [f"{l1}{l2}{l3}" for l1, l2, l3 in bispectrum_deg.paths]
n_paths = len(path_labels)
diff = (bA - bB).abs().reshape(-1, n_paths)[1]  # radial channel n = 1, the Gaussian centred at 2.5 Å
axes[2].bar(range(n_paths), diff.numpy())
axes[2].set_xticks(range(n_paths), path_labels, rotation=90, fontsize=6)
axes[2].set_xlabel("bispectrum component $l_1 l_2 l_3$")
axes[2].set_ylabel("|b(A) - b(B)|, channel n = 1")
plt.tight_layout()
plt.show()

# %% [markdown]
# The power spectra agree to round-off while the environments are clearly different (the RMSD
# printed above): the power spectrum is **incomplete**. The bispectrum separates this particular
# pair. It is not complete either: Pozdnyakov *et al.* (2020) also constructed pairs of different
# environments with equal 3-body *and* equal 4-body features, that is equal power spectra and equal
# bispectra, which only higher correlation orders can tell apart. And no `0e` invariant separates an
# environment from its mirror image (section 3); the `0o` pseudoscalars do.
#
# ## 5. Fitting a geometry to a descriptor
#
# If a descriptor were complete, matching it would fix the environment up to rotation, reflection
# and renumbering. We test this on the pair of section 4. Start from A, with every neighbour moved
# by a small random displacement (standard deviation `sigma = 0.1` Å per component, so that the fit
# has something to do), and move the neighbours by gradient descent (L-BFGS) to minimise the
# relative distance to B's descriptor,
#
# $$ L(x) = \frac{\lVert d(x) - d(x_B)\rVert^2}{\lVert d(x_B)\rVert^2}, $$
#
# where $d$ is the power spectrum or the bispectrum, with the settings of section 4
# ($l_\max = 8$, 3 radial channels). Then we measure how far the fitted environment is from B:
# the RMSD after the best rotation, reflection and renumbering of the neighbours (`aligned_rmsd`:
# Hungarian matching alternated with the Kabsch superposition).

# %%
def descriptor(x: torch.Tensor, kind: str) -> torch.Tensor:
    """Power spectrum or bispectrum (F,) of one environment x (M, 3), Å, settings of section 4."""
    c = sh_projection(x, l_deg, radial_basis(x.norm(dim=1), 3, r_max=3.5, r_min=1.5))
    return power_spectrum(c, l_deg) if kind == "power" else bispectrum_deg(c)


def fit(x0: torch.Tensor, d_target: torch.Tensor, kind: str,
        max_iter: int = 100) -> tuple[torch.Tensor, list[float]]:
    """L-BFGS from positions x0 (M, 3) Å towards the descriptor d_target (F,).

    Returns the fitted positions (M, 3) in Å and the loss L at every evaluation (dimensionless).
    """
    x = x0.clone().requires_grad_()
    opt = torch.optim.LBFGS([x], max_iter=max_iter, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-14, tolerance_change=1e-20)
    history = []

    def closure():
        opt.zero_grad()
        loss = ((descriptor(x, kind) - d_target) ** 2).sum() / (d_target**2).sum()
        loss.backward()
        history.append(loss.item())
        return loss

    opt.step(closure)
    return x.detach(), history


sigma = 0.1  # Å, standard deviation of the displacement of the start
x_start = env_A + sigma * torch.randn(env_A.shape, generator=torch.Generator().manual_seed(2))
t0 = time.perf_counter()
fits = {kind: fit(x_start, descriptor(env_B, kind), kind) for kind in ("power", "bispectrum")}
rmsd_to_B = {kind: aligned_rmsd(x_fit.numpy(), env_B.numpy()) for kind, (x_fit, _) in fits.items()}
print(f"two fits in {time.perf_counter() - t0:.0f} s; the start is {aligned_rmsd(x_start.numpy(), env_B.numpy()):.2f} Å "
      f"from B and {aligned_rmsd(x_start.numpy(), env_A.numpy()):.2f} Å from A")
for kind, (x_fit, history) in fits.items():
    print(f"{kind:>10} fit: loss {history[0]:.1e} -> {history[-1]:.1e} in {len(history)} evaluations; "
          f"RMSD to B {rmsd_to_B[kind]:.2f} Å, to A {aligned_rmsd(x_fit.numpy(), env_A.numpy()):.2f} Å")

# %%
# NBVAL_CHECK_OUTPUT
loss_power, loss_bispectrum = fits["power"][1][-1], fits["bispectrum"][1][-1]
print("the fit reaches B's power spectrum (loss < 1e-8):   ", loss_power < 1e-8)
print("... at a geometry more than 1 Å from B:             ", rmsd_to_B["power"] > 1.0)
print("the fit of B's bispectrum stops above loss 1e-4:    ", loss_bispectrum > 1e-4)
print("... also more than 1 Å from B:                      ", rmsd_to_B["bispectrum"] > 1.0)

# %%
fig, ax = plt.subplots(figsize=(5.5, 3.5))
for kind, (_, history) in fits.items():
    ax.semilogy(history, label=f"{kind}: final RMSD to B {rmsd_to_B[kind]:.2f} Å")
ax.set_xlabel("loss evaluation")
ax.set_ylabel("loss L (dimensionless)")
ax.set_title("fitting B's descriptor, starting next to A", fontsize=10)
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# The power-spectrum fit drives the loss down by many orders of magnitude (printed above), and the
# geometry stays next to A, more than 1 Å from B: it has B's power spectrum and is not B. No better
# optimiser could change that, because the power spectrum does not contain the difference between
# A and B; this is what incompleteness means in practice. The bispectrum fit from the same start
# stops at a loss many orders of magnitude higher: near A there is no geometry with B's bispectrum,
# so the bispectrum *sees* the difference. It does not bring the geometry to B either, though
# (RMSD printed above): gradient descent on invariants is local and stops in a minimum next to A.
# Telling two environments apart and being easy to invert are different properties.
#
# ## 6. Application: watching copper melt
#
# Now a real use. We heat a copper crystal through its melting point with molecular dynamics and
# ask, atom by atom, which crystal structure its environment looks like.
#
# **The potential.** ASE's effective-medium theory (EMT) for copper (Jacobsen, Stoltze, Nørskov
# 1996). ASE's calculator loops over atoms in Python, so `tutorial_utils.lessons.emt.TorchEMT` evaluates the
# same equations, with ASE's own parameters, for all atoms at once in torch and gets forces
# ($-\partial E/\partial \mathbf x$) and the stress by automatic differentiation. First we check it
# against ASE's EMT on a rattled, strained crystal:

# %%
from ase import units
from ase.build import bulk
from ase.calculators.emt import EMT
from ase.md.langevinbaoab import LangevinBAOAB
from ase.md.velocitydistribution import thermalize_momenta

from tutorial_utils.lessons.emt import TorchEMT

test = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
test.rattle(0.1, seed=0)
test.set_cell(test.cell.array * 1.02, scale_atoms=True)
ase_calc, torch_calc = test.copy(), test.copy()
ase_calc.calc, torch_calc.calc = EMT(), TorchEMT()
errors = {"energy (eV)": abs(ase_calc.get_potential_energy() - torch_calc.get_potential_energy()),
          "forces (eV/Å)": np.abs(ase_calc.get_forces() - torch_calc.get_forces()).max(),
          "stress (eV/Å^3)": np.abs(ase_calc.get_stress() - torch_calc.get_stress()).max()}
print({k: f"{v:.1e}" for k, v in errors.items()})

# %%
# NBVAL_CHECK_OUTPUT
print("TorchEMT reproduces ASE's EMT to 1e-8:", all(v < 1e-8 for v in errors.values()))

# %% [markdown]
# **The simulation.** A periodic box of fcc copper, Langevin dynamics at zero pressure (ASE's
# `LangevinBAOAB` thermostat and barostat, time step 5 fs), heated in steps of constant temperature.
# At each temperature we average the potential energy per atom over the second half of the step and
# keep the last frame. This takes a few minutes in full mode:

# %%
n_rep = pick(full=4, quick=3)  # 4 x 4 x 4 cubic cells = 256 atoms (quick: 108)
temperatures = pick(full=list(range(300, 2001, 100)), quick=list(range(300, 2101, 300)))  # K
steps_per_T = pick(full=800, quick=120)  # 5 fs each: 4 ps per temperature in full mode

atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(n_rep)
atoms.calc = TorchEMT()
rng = np.random.default_rng(0)
thermalize_momenta(atoms, temperatures[0], rng=rng)
with warnings.catch_warnings():
    # ASE reports that it derives the barostat mass from P_tau with its heuristic: that is intended
    warnings.filterwarnings("ignore", message="Using heuristic P_mass")
    dyn = LangevinBAOAB(atoms, 5 * units.fs, temperature_K=temperatures[0], externalstress=0.0,
                        hydrostatic=True, T_tau=100 * units.fs, P_tau=500 * units.fs, rng=rng)

t0 = time.perf_counter()
e_pot, t_kin, volume, snapshots = [], [], [], []
for T in temperatures:
    dyn.set_temperature(T)
    samples = []
    for block in range(steps_per_T // 10):
        dyn.run(10)
        if block >= steps_per_T // 20:  # second half of each temperature step
            samples.append((atoms.get_potential_energy() / len(atoms), atoms.get_temperature(),
                            atoms.get_volume() / len(atoms)))
    e, t, v = np.mean(samples, axis=0)
    e_pot.append(e), t_kin.append(t), volume.append(v), snapshots.append(atoms.copy())
e_pot, t_kin, volume = map(np.array, (e_pot, t_kin, volume))
print(f"{len(atoms)} atoms, {len(temperatures) * steps_per_T} MD steps in {time.perf_counter() - t0:.0f} s")
print(f"measured temperature minus thermostat setting: at most {np.abs(t_kin - temperatures).max():.0f} K")

# %% [markdown]
# **The classifier.** Per-atom descriptor: the power spectrum with $l_\max = 6$ and 4 radial
# channels between 2 and 4 Å (first and second neighbour shells). To damp thermal noise we average
# each atom's power spectrum with those of its first-shell neighbours (within 3 Å): an average of
# the *invariants*. Lechner and Dellago (2008) average differently: for their $\bar q_l$ they
# average the *coefficients* $q_{lm}$ over the atom and its neighbours and form the invariant from
# that average, so that it also compares the orientations of neighbouring environments.
# References: perfect fcc, hcp and bcc copper at the same volume per atom, with random Gaussian
# displacements of 0.05 to 0.2 Å standing in for thermal motion. Each atom gets the majority class
# of its 5 nearest reference atoms (in standardised descriptor units), or is called *disordered*
# when it is farther from them than a fraction `quantile = 0.99` of the reference atoms are from their own 5 nearest
# references. Snapshots are rescaled to the reference volume first, so that thermal expansion is
# not mistaken for disorder.

# %%
r_max_cls, l_max_cls, n_radial_cls, r_min_cls = 4.0, 6, 4, 2.0  # Å
volume_ref = 3.61**3 / 4  # Å^3 per atom of fcc copper
classes = ["fcc", "hcp", "bcc", "disordered"]


def atom_descriptors(structure) -> np.ndarray:
    """Per-atom power spectra (N, F), each averaged with those of its first shell (an average of
    invariants, not of coefficients), at the reference volume per atom."""
    s = structure.copy()
    s.set_cell(s.cell.array * (volume_ref * len(s) / s.get_volume()) ** (1 / 3), scale_atoms=True)
    p = structure_descriptors(s, r_max_cls, l_max_cls, n_radial_cls, kind="power", r_min=r_min_cls)
    return neighbour_average(s, p, r_max=3.0).numpy()


a_hcp = 3.61 / 2**0.5  # same nearest-neighbour distance as fcc, ideal c/a
references = [bulk("Cu", "fcc", a=3.61, cubic=True).repeat(3),
              bulk("Cu", "hcp", a=a_hcp, c=a_hcp * (8 / 3) ** 0.5).repeat((4, 4, 3)),
              bulk("Cu", "bcc", a=(2 * volume_ref) ** (1 / 3), cubic=True).repeat(4)]
noise_levels = [0.05, 0.1, 0.15, 0.2]  # Å, standard deviation per Cartesian component
ref_rng = np.random.default_rng(1)  # its own generator: the references do not depend on the MD run
ref_X, ref_y = [], []
for label, crystal in enumerate(references):
    for sigma in noise_levels + noise_levels:  # two noisy copies per level
        noisy = crystal.copy()
        noisy.positions += ref_rng.normal(0.0, sigma, noisy.positions.shape)
        ref_X.append(atom_descriptors(noisy))
        ref_y.append(np.full(len(noisy), label))
ref_X, ref_y = np.concatenate(ref_X), np.concatenate(ref_y)
classifier = ReferenceClassifier.fit(ref_X, ref_y, classes[:3], k=5, quantile=0.99)
print(f"{len(ref_y)} reference atoms, {ref_X.shape[1]} descriptor components")

# %%
# NBVAL_CHECK_OUTPUT
ideal_labels = [int(classifier.predict(atom_descriptors(c))[0]) for c in references]
print("perfect fcc, hcp, bcc classified as:", [classes[k] for k in ideal_labels])

# %%
labels = [classifier.predict(atom_descriptors(s)) for s in snapshots]
fractions = np.array([np.bincount(lab, minlength=4) / len(lab) for lab in labels])  # (n_T, 4)

# caloric curve: a straight line through the solid points, and the same line shifted up to the liquid
# points at the highest temperatures; where E_pot lies between the two is an energy-based liquid fraction
n_solid, n_liquid = pick(full=6, quick=3), pick(full=2, quick=1)
T_arr = np.array(temperatures, dtype=float)
solid_line = np.polyval(np.polyfit(T_arr[:n_solid], e_pot[:n_solid], 1), T_arr)
liquid_offset = float(np.mean((e_pot - solid_line)[-n_liquid:]))  # eV/atom
liquid_fraction_energy = (e_pot - solid_line) / liquid_offset

i_class = int(np.argmax(fractions[:, 3] > 0.5))  # first temperature with most atoms disordered
i_energy = int(np.argmax(liquid_fraction_energy > 0.5))
T_melt_class, T_melt_caloric = temperatures[i_class], temperatures[i_energy]
print("T (K)  " + "  ".join(f"{c:>10}" for c in classes) + "   E_pot (eV/atom)  liquid fraction from E")
for T, f, e, xl in zip(temperatures, fractions, e_pot, liquid_fraction_energy):
    print(f"{T:5d}  " + "  ".join(f"{v:10.2f}" for v in f) + f"   {e:8.4f}         {xl:6.2f}")
print(f"liquid above the solid line at the highest temperatures: {liquid_offset * 1000:.0f} meV/atom")
print(f"most atoms disordered (classification): from {T_melt_class} K on")
print(f"more than half-way to the liquid energy (caloric curve): from {T_melt_caloric} K on")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.8))
for k, name in enumerate(classes):
    ax1.plot(temperatures, fractions[:, k], marker="o", label=name)
ax1.plot(temperatures, np.clip(liquid_fraction_energy, 0, 1), "k--", label="liquid fraction from energy")
ax1.set_xlabel("thermostat temperature (K)")
ax1.set_ylabel("fraction of atoms")
ax1.legend(fontsize=8)
ax2.plot(T_arr, e_pot, marker="o", label="MD average")
ax2.plot(T_arr, solid_line, color="grey", ls=":", label="solid line")
ax2.plot(T_arr, solid_line + liquid_offset, color="grey", ls="--", label="shifted to the liquid")
ax2.set_xlabel("thermostat temperature (K)")
ax2.set_ylabel("potential energy (eV/atom)")
ax2.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The two estimates are independent: one looks only at geometry (the descriptors), the other only
# at energy. Compare the disordered fraction with the dashed energy-based liquid fraction in the
# left panel and the two temperatures printed above. Both measures already rise a little before
# the jump: the classifier finds a growing share of atoms whose surroundings match no noisy reference
# (and a few hcp-like ones), and the energy climbs above the solid line (anharmonic vibrations and
# thermally created defects). Most atoms keep crystalline surroundings up to the step before the
# jump (table above); then the whole box melts within one temperature step.
#
# That temperature is **not** the melting point of EMT copper, though. A small periodic box has no
# surface or defect where the liquid can start, so the crystal stays *superheated* above its melting
# point until it collapses (Luo *et al.* 2003 study how far crystals can be superheated in such
# simulations and in experiments), and our fast heating (a few ps per temperature
# step) adds to this. Experimentally copper melts at 1358 K (CRC Handbook). The ratio printed below
# mixes the superheating with the error of EMT itself; to separate them one would simulate solid and
# liquid in contact in one box (the coexistence method), which takes far longer than this notebook.

# %%
print(f"collapse of the superheated crystal: {T_melt_class} K (classification), {T_melt_caloric} K "
      f"(caloric curve); copper's melting point 1358 K; ratio {T_melt_class / 1358:.2f}")
headline("collapse temperature of the superheated crystal (classification)", T_melt_class, "K")

# %% [markdown]
# **A map of the descriptor space.** Principal component analysis (an SVD of the centred,
# standardised descriptors) projects the 70-dimensional power spectra onto the two directions of
# largest variance. Reference crystals with their noise, and atoms from three temperatures:

# %%
mean, std = ref_X.mean(0), ref_X.std(0) + 1e-12
_, _, Vt = np.linalg.svd((ref_X - mean) / std, full_matrices=False)
project = lambda X: ((X - mean) / std) @ Vt[:2].T  # noqa: E731  (N, 2)
shown = [0, max(i_class - 1, 0), len(temperatures) - 1]
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4), sharex=True, sharey=True)
for k in range(3):
    z = project(ref_X[ref_y == k])
    ax1.scatter(z[:, 0], z[:, 1], s=3, alpha=0.3, label=f"{classes[k]} reference")
for k, i in enumerate(shown):
    z = project(atom_descriptors(snapshots[i]))
    ax2.scatter(z[:, 0], z[:, 1], s=6, c=labels[i], cmap="viridis", vmin=0, vmax=3,
                marker="os^"[k], label=f"{temperatures[i]} K")
for ax in (ax1, ax2):
    ax.set_xlabel("PC 1 (standardised units)")
    ax.set_ylabel("PC 2 (standardised units)")
    ax.legend(markerscale=3)
ax2.set_title("MD atoms, colour = class (fcc, hcp, bcc, disordered)", fontsize=9)
plt.show()

# %% [markdown]
# **One snapshot in 3D**, the last temperature before the collapse, coloured by class
# (0 fcc, 1 hcp, 2 bcc, 3 disordered):

# %%
i_show = max(i_class - 1, 0)
fig = view_structure(snapshots[i_show], color_by=labels[i_show], bonds=None,
                     title=f"{temperatures[i_show]} K: colour = class (0 fcc, 1 hcp, 2 bcc, 3 disordered)")
fig.show()
print(f"{temperatures[i_show]} K: " + ", ".join(f"{c} {f:.2f}" for c, f in zip(classes, fractions[i_show])))

# %% [markdown]
# ## Summary
# - Centre-relative vectors remove translations; the Gram matrix $XX^T$ also removes rotations
#   but not the numbering of neighbours (checked above to 1e-10).
# - Projecting neighbours on spherical harmonics gives a permutation-invariant, rotation-*equivariant*
#   signal on the sphere ($S(Qr) = D(Q)S(r)$ to round-off), whose peaks give back the neighbour
#   directions within the resolution of the grid.
# - Its power spectrum reproduces Steinhardt's $q_4, q_6$ for fcc, hcp, bcc (8 and 14 neighbours)
#   and simple cubic to all 3 published decimals; power spectrum and bispectrum are invariant to
#   round-off.
# - The bispectrum components with $l_1+l_2+l_3$ odd are not zero but pseudoscalars (`0o`): a
#   mirror image flips their sign and keeps every `0e` component (checked to 1e-10).
# - In the language of ACE, $c_{nlm}$ are the atomic base $A$, the power spectrum and the bispectrum
#   are $B$ functions of correlation order 2 and 3 (3- and 4-body); notebook 04's message passing
#   reaches higher orders by iterating tensor products.
# - The homometric pair A/B (RMSD 1.13 Å apart) has equal power spectra (to 1e-12) but different
#   bispectra: the power spectrum is incomplete. The bispectrum separates this pair but is not
#   complete in general either.
# - Fitting B's power spectrum from a start next to A matches it (loss below 1e-8) at a geometry
#   still more than 1 Å from B; fitting B's bispectrum from the same start stops at a far higher
#   loss, in a local minimum next to A.
# - Heating EMT copper, per-atom classification (geometry) and the caloric curve (energy) each give
#   the temperature at which the small periodic crystal collapses (printed in section 6); it lies
#   above copper's melting point, because a crystal without surfaces superheats.
#
# ## Exercises
# **Exercise 1.** Distort an fcc environment: stretch it by a factor $1+\varepsilon$ along $z$
# (tetragonal strain) for $\varepsilon$ = 0, 0.05, 0.1, 0.2 and compute $q_6$. How sensitive is
# $q_6$ to this distortion compared with $q_4$? *Hint:* `ideal_environment("fcc") * torch.tensor([1, 1, 1 + eps])`
# and `steinhardt_q(v, (4, 6))`.

# %% tags=["solution"]
# Solution to exercise 1
for eps in [0.0, 0.05, 0.1, 0.2]:
    v = ideal_environment("fcc", d_nn) * torch.tensor([1.0, 1.0, 1.0 + eps])
    q4, q6 = steinhardt_q(v, (4, 6)).tolist()
    print(f"eps = {eps:4.2f}: q4 = {q4:.3f}, q6 = {q6:.3f}")

# %% [markdown]
# **Exercise 2.** Which $l$ distinguishes fcc from hcp best? Compute $q_l$ for $l = 0 \dots 12$ for
# both ideal environments and find the $l$ with the largest difference. Is $q_6$ the best choice?
# Then explain the zeros of fcc: the fcc environment has an inversion centre at the atom (every
# neighbour $\mathbf r$ has a partner at $-\mathbf r$), and $Y_{lm}(-\hat{\mathbf r}) =
# (-1)^l Y_{lm}(\hat{\mathbf r})$, so the two terms of each pair cancel in every $c_{lm}$ of odd $l$
# and every odd-$l$ $q_l$ of fcc vanishes. The atom site of hcp has no inversion centre, so its odd
# $q_l$ from $l = 3$ on survive, and an odd $l$ can win. Print the largest odd-$l$ $q_l$ of fcc to check.
# *Hint:* `steinhardt_q(ideal_environment(name), tuple(range(13)))`.

# %% tags=["solution"]
# Solution to exercise 2
ls = tuple(range(13))
q_fcc = steinhardt_q(ideal_environment("fcc"), ls)
q_hcp = steinhardt_q(ideal_environment("hcp"), ls)
diff = (q_fcc - q_hcp).abs()
for l in ls:
    print(f"l = {l:2d}: fcc {q_fcc[l]:.3f}  hcp {q_hcp[l]:.3f}  |difference| {diff[l]:.3f}")
print("largest difference at l =", int(diff.argmax()))
odd = list(range(1, 13, 2))
print(f"largest odd-l q_l: fcc {q_fcc[odd].max():.1e} (inversion centre), hcp {q_hcp[odd].max():.3f}")

# %% [markdown]
# **Exercise 3.** Count the bispectrum components `Bispectrum(l_max).paths` for $l_\max$ = 2, 4, 6, 8
# and compare with the number of power-spectrum components $l_\max + 1$ (one radial channel).
# *Hint:* `len(Bispectrum(l).paths)`.

# %% tags=["solution"]
# Solution to exercise 3
for l in [2, 4, 6, 8]:
    print(f"l_max = {l}: power spectrum {l + 1}, bispectrum {len(Bispectrum(l).paths)} components")

# %% [markdown]
# ## References
# 1. P. J. Steinhardt, D. R. Nelson, M. Ronchetti, Bond-orientational order in liquids and glasses,
#    Phys. Rev. B 28, 784 (1983).
# 2. W. Mickel, S. C. Kapfer, G. E. Schröder-Turk, K. Mecke, Shortcomings of the bond orientational
#    order parameters for the analysis of disordered particulate matter, J. Chem. Phys. 138, 044501 (2013).
# 3. A. P. Bartók, R. Kondor, G. Csányi, On representing chemical environments, Phys. Rev. B 87, 184115 (2013).
# 4. S. N. Pozdnyakov, M. J. Willatt, A. P. Bartók, C. Ortner, G. Csányi, M. Ceriotti, Incompleteness of
#    atomic structure representations, Phys. Rev. Lett. 125, 166001 (2020).
# 5. A. L. Patterson, Ambiguities in the X-ray analysis of crystal structures, Phys. Rev. 65, 195 (1944).
# 6. W. Lechner, C. Dellago, Accurate determination of crystal structures based on averaged local
#    bond order parameters, J. Chem. Phys. 129, 114707 (2008).
# 7. S.-N. Luo, T. J. Ahrens, T. Çağın, A. Strachan, W. A. Goddard III, D. C. Swift, Maximum superheating
#    and undercooling: systematics, molecular dynamics simulations, and dynamic experiments,
#    Phys. Rev. B 68, 134206 (2003).
# 8. K. W. Jacobsen, P. Stoltze, J. K. Nørskov, A semi-empirical effective medium theory for metals and
#    alloys, Surf. Sci. 366, 394 (1996).
# 9. B. Leimkuhler, C. Matthews, Robust and efficient configurational molecular sampling via Langevin
#    dynamics, J. Chem. Phys. 138, 174102 (2013).
# 10. M. Geiger, T. Smidt, e3nn: Euclidean Neural Networks, arXiv:2207.09453 (2022).
# 11. W. M. Haynes (ed.), CRC Handbook of Chemistry and Physics, 97th ed., CRC Press (2016): melting point of copper.
# 12. R. Drautz, Atomic cluster expansion for accurate and transferable interatomic potentials,
#     Phys. Rev. B 99, 014104 (2019).
