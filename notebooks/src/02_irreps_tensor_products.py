# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/e3nn-materials/e3nn-materials-tutorial/blob/v0.1.0/notebooks/02_irreps_tensor_products.ipynb)
#
# *On Colab, choose a GPU first: Runtime → Change runtime type → a GPU accelerator.
# The setup cell keeps Colab's own torch and installs only what is missing.*
#
# # 02. Irreducible representations and tensor products in e3nn
#
# **The talk behind this notebook** (MRS Fall Meeting 2021 e3nn tutorial, recorded): Tutorial 2, by Geiger: [video](https://youtu.be/9rS8gtey_Ic), [slides](https://slides.com/mariogeiger/e3nn_mrs_2021/); all six talks: [the recorded playlist](https://www.youtube.com/watch?v=q9EwZsHY1sk&list=PLx3xbphkO3qIlBoESkbafXaDtr0tq5iRd).

# %% [markdown]
# ## What you will learn
# - check numerically that rotations and the inversion form the group O(3), and that
#   e3nn's Wigner D matrices are representations of it;
# - type the features of a model as irreps (`o3.Irreps("1x0e + 2x1o")`) and know what
#   `0e`, `0o`, `1o`, `1e`, `2e`, `2o` mean physically;
# - compute and plot spherical harmonics, verify $Y(Qx) = D(Q)\,Y(x)$, and name each
#   component (which $m$ is $p_x$, which is $d_{xy}$) in e3nn's convention, where y is the
#   polar axis;
# - decompose tensor products with Clebsch-Gordan coefficients, build the selection-rule
#   table, and assemble a point convolution $W(r) = R(r)\,Y(\hat r)$ from a tensor product
#   with weights given by a radial MLP, and count the paths and weights of a layer;
# - see why ReLU on vector components breaks equivariance and how a gate fixes it.
#
# **After this notebook:** material property tensors (dielectric, Born charge, Raman,
# piezoelectric, elastic) as irreps with `ReducedTensorProducts`, and which of their components
# a crystal's point group allows, are the first part of notebook 07 (tensor properties of
# crystals), which then trains a network that predicts them.
#
# **Prerequisites:** notebook 01 (what equivariance means). Linear algebra (matrices,
# eigen-decomposition) and a first encounter with tensors in physics (the dielectric or the
# elastic tensor) help; no group theory is assumed.
#
# **Run time** on 2 CPU cores: quick mode (`TUTORIAL_QUICK=1`) under 1 min, full mode
# under 1 min. Nothing is trained in this notebook, so a GPU changes nothing here.

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

import e3nn
import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from e3nn import nn, o3
from e3nn.math import soft_one_hot_linspace
from e3nn.util.test import equivariance_error
from plotly.subplots import make_subplots

from tutorial_utils import headline, pick
from tutorial_utils.graphs import radius_graph
from tutorial_utils.symmetry import random_o3
from tutorial_utils.tensors import TensorIrreps, rotation_about

# A theory notebook: double precision makes every exact identity hold to about 1e-15, so a
# check that fails stands far above round-off. (Models in later notebooks use float32.)
torch.set_default_dtype(torch.float64)
n_samples = pick(full=2000, quick=200)  # random points used by the numerical checks
results = {}  # numbers collected for the summary at the end

# %% [markdown]
# ## 1. Groups and representations
#
# A **group** is a set of operations $g$ with a composition $gh$ that is closed, associative,
# has an identity $e$ and an inverse $g^{-1}$ for every element. The symmetries of empty
# space around a point form the group **O(3)**: all $3\times3$ matrices with $Q^\top Q = 1$.
# Those with $\det Q = +1$ are the rotations, SO(3); the others are a rotation times the
# **inversion** $-1$ (which maps $x \mapsto -x$). Because the inversion commutes with
# everything,
#
# $$ O(3) = SO(3) \times \{1, -1\}, \qquad Q = (\det Q)\,R,\ R \in SO(3). $$
#
# A **representation** assigns to every $g$ a matrix $D(g)$ acting on some feature vector,
# such that the composition is respected: $D(g)\,D(h) = D(gh)$. The $3\times3$ matrices
# themselves are one representation (how a velocity transforms). Let us check the axioms on
# random elements of O(3).

# %%
g, h, k = random_o3(3)  # three random O(3) elements (rotations, some times the inversion)
eye, inversion = torch.eye(3), -torch.eye(3)


def is_orthogonal(Q: torch.Tensor) -> bool:
    return torch.allclose(Q @ Q.T, eye, atol=1e-12)


R = torch.linalg.det(g) * g  # the rotation part of g
axioms = {
    "closure: g h is orthogonal": is_orthogonal(g @ h),
    "associativity: (g h) k = g (h k)": torch.allclose((g @ h) @ k, g @ (h @ k)),
    "identity: 1 g = g 1 = g": torch.allclose(eye @ g, g) and torch.allclose(g @ eye, g),
    "inverse: g^-1 = g^T": torch.allclose(torch.linalg.inv(g), g.T),
    "det(g h) = det(g) det(h)": torch.allclose(torch.linalg.det(g @ h), torch.linalg.det(g) * torch.linalg.det(h)),
    "inversion commutes with g": torch.allclose(inversion @ g, g @ inversion),
    "g = det(g) R with det R = +1": bool(torch.isclose(torch.linalg.det(R), torch.tensor(1.0))),
    "not commutative: g h != h g": not torch.allclose(g @ h, h @ g),
}

# %% [markdown]
# The check (every line must read `True`):

# %%
# NBVAL_CHECK_OUTPUT
for name, ok in axioms.items():
    print(f"{name:36s} {ok}")

# %% [markdown]
# **Figure.** A chiral object (the letter F drawn in 3D, seen from above; colour is the
# height $z$) under a 90° rotation about $z$, the inversion, and two compositions in
# different orders: the order matters, the group is not commutative.

# %%
F = torch.tensor([[0, 0, 0], [0, 2, 0], [1.2, 2, 0], [0, 2, 0], [0, 1, 0], [0.8, 1, 0.5]], dtype=torch.float64)
C4z, C2x = rotation_about([0, 0, 1], math.pi / 2), rotation_about([1, 0, 0], math.pi)
ops = {"identity": eye, "C4z (90° about z)": C4z, "inversion": inversion,
       "C4z then C2x": C2x @ C4z, "C2x then C4z": C4z @ C2x}
fig, axes = plt.subplots(1, len(ops), figsize=(15, 3.2), sharex=True, sharey=True)
for ax, (name, Q) in zip(axes, ops.items()):
    P = F @ Q.T
    ax.plot(P[:, 0], P[:, 1], color="grey", lw=2)
    sc = ax.scatter(P[:, 0], P[:, 1], c=P[:, 2], cmap="coolwarm", vmin=-0.5, vmax=0.5, s=40, zorder=3)
    ax.set_title(name)
    ax.set_xlabel("x")
    ax.set_aspect("equal")
axes[0].set_ylabel("y")
fig.colorbar(sc, ax=axes, label="z", shrink=0.8)
plt.show()

# %% [markdown]
# ## 2. Irreducible representations of O(3)
#
# Any representation of O(3) can be split, by a change of basis, into blocks that cannot be
# split further: the **irreducible representations** (irreps). For O(3) they are labelled by
# an integer $l \ge 0$ (dimension $2l+1$) and a parity $p = \pm 1$, how the feature reacts to
# the inversion: $D^{l,p}(-1) = p\,\mathbb{1}$. e3nn writes them `"0e"`, `"1o"`, ...
# (`e` = even, $p=+1$; `o` = odd, $p=-1$). The matrices $D^{l}(R)$ are the **Wigner D
# matrices**; `Irreps.D_from_matrix(Q)` returns them for any O(3) element. Spherical harmonics
# of degree $l$ have parity $(-1)^l$, which is why s, p, d, f orbitals are `0e`, `1o`, `2e`,
# `3o`.

# %%
# NBVAL_CHECK_OUTPUT
examples = {
    "0e": "scalar: mass, energy, charge, temperature; s orbital",
    "0o": "pseudoscalar: handedness of a helix (chirality)",
    "1o": "vector: position, velocity, force, electric field; p orbitals",
    "1e": "pseudovector: angular momentum, magnetic field",
    "2e": "'double ray': symmetric traceless matrix, quadrupole; d orbitals",
    "2o": "'spiral': a double ray twisted by a chirality",
    "3o": "octupole; f orbitals",
}
for name, meaning in examples.items():
    ir = o3.Irrep(name)
    print(f"{name}: l = {ir.l}, parity = {ir.p:+d}, dimension 2l+1 = {ir.dim}   {meaning}")

# %% [markdown]
# **Typing features as irreps.** A particle with a mass, a velocity and an acceleration is
# described by `1x0e + 2x1o`: 1 + 3 + 3 = 7 numbers. Under $Q$ the whole feature vector
# transforms with the block-diagonal $D(Q) = 1 \oplus Q \oplus Q$. Check it, check
# $D(g)D(h) = D(gh)$ for a longer list of irreps, and check that the angular momentum
# $L = r \times p$ transforms as `1e` (it does not flip under inversion).

# %%
irreps_particle = o3.Irreps("1x0e + 2x1o")  # mass, velocity, acceleration
mass, velocity, acceleration = torch.tensor([2.0]), torch.randn(3), torch.randn(3)
features = torch.cat([mass, velocity, acceleration])
D = irreps_particle.D_from_matrix(g)
moved = D @ features
particle_ok = (torch.allclose(moved[:1], mass) and torch.allclose(moved[1:4], g @ velocity)
               and torch.allclose(moved[4:], g @ acceleration))

irreps_all = o3.Irreps("0e + 0o + 1o + 1e + 2e + 2o + 3o")
D_g, D_h, D_gh = (irreps_all.D_from_matrix(Q) for Q in (g, h, g @ h))
homomorphism_err = (D_g @ D_h - D_gh).abs().max().item()
parities = torch.cat([torch.full((ir.dim,), float(ir.p)) for _, ir in irreps_all])
inversion_ok = torch.allclose(irreps_all.D_from_matrix(inversion), torch.diag(parities))

r, p = torch.randn(3), torch.randn(3)
L_moved = torch.linalg.cross(g @ r, g @ p)  # angular momentum of the transformed particle
L_ok = torch.allclose(L_moved, o3.Irreps("1e").D_from_matrix(g) @ torch.linalg.cross(r, p))

# %%
# NBVAL_CHECK_OUTPUT
print(f"irreps {irreps_particle} has dimension {irreps_particle.dim}")
print(f"mass unchanged, velocity and acceleration rotate: {particle_ok}")
print(f"D(g) D(h) = D(gh) for {irreps_all}, error below 1e-8: {homomorphism_err < 1e-8}")
print(f"D(inversion) = diag(parities): {inversion_ok}")
print(f"L = r x p transforms as 1e: {L_ok}")

# %% [markdown]
# **How exact is "exact"?** e3nn computes $D(Q)$ from Euler angles with matrix exponentials
# (`torch.matrix_exp`).
# For most rotations the result is exact to round-off (about 1e-15), but for a few it is
# less accurate. Measure it over many random elements, one at a time as the checks below use
# them:

# %%
D_errors = []
Qs = random_o3(pick(full=500, quick=200))
for Q in Qs:
    D_errors.append((o3.Irrep("1o").D_from_matrix(Q) - Q).abs().max().item())  # D of a vector is Q itself
D_errors = torch.tensor(D_errors)
results["largest error of e3nn's D(Q) in float64"] = D_errors.max().item()
print(f"|D^1o(Q) - Q|: median {D_errors.median():.1e}, largest {D_errors.max():.1e}, "
      f"fraction above 1e-12: {(D_errors > 1e-12).float().mean():.3f}")
print("equivariance checks below therefore use a tolerance of 1e-8: above this floor, far below a real violation")

# %% [markdown]
# **Where does the floor come from?** A natural suspect is the step from the matrix $Q$ to
# Euler angles near gimbal lock ($\sin\beta \approx 0$). Measure instead of guessing: the
# angle $\beta$ of the worst element, the error with the matrix-to-angle step taken out
# (the $D$ of the angles against the rotation matrix of the same angles), and the matrix
# exponential of one generator against Rodrigues' closed form over a fine grid of angles.

# %%
worst = int(D_errors.argmax())
a, b, c = o3.matrix_to_angles(Qs[worst] * torch.det(Qs[worst]))  # angles of its rotation part
from_angles = (o3.Irrep("1o").D_from_angles(a, b, c) - o3.angles_to_matrix(a, b, c)).abs().max().item()
print(f"worst element: |sin beta| = {torch.sin(b).abs().item():.2f} (gimbal lock would be near 0); "
      f"error of D from its angles alone: {from_angles:.1e}")
X_y = o3.so3_generators(1)[1]
grid = torch.linspace(0.0, 2 * math.pi, pick(full=20001, quick=2001))
rodrigues = [torch.eye(3) + torch.sin(t) * X_y + (1 - torch.cos(t)) * X_y @ X_y for t in grid]
exp_err = torch.stack([(torch.matrix_exp(t * X_y) - R_t).abs().max() for t, R_t in zip(grid, rodrigues)])
print(f"torch.matrix_exp(t X_y) against Rodrigues' formula: largest error {exp_err.max():.1e} "
      f"at t = {grid[exp_err.argmax()]:.4f} rad, median {exp_err.median():.1e}")

# %% [markdown]
# So the floor is not gimbal lock: the worst element is far from it, and the error stays
# when the matrix-to-angle step is taken out. It is the matrix exponential itself, which in
# float64 is exact to round-off for most angles but only to about 1e-10 for some (printed
# above). A tolerance of 1e-8 sits safely above this floor.

# %% [markdown]
# **Figure.** The Wigner D matrix of `0e + 1o + 1e + 2e + 2o` for a random rotation (left) is
# block-diagonal: irreps never mix. For the inversion (right) each block is $\pm 1$ times
# the identity.

# %%
irreps_fig = o3.Irreps("0e + 1o + 1e + 2e + 2o")
fig, axes = plt.subplots(1, 2, figsize=(9, 4))
for ax, (name, Q) in zip(axes, [("random rotation", R), ("inversion", inversion)]):
    im = ax.imshow(irreps_fig.D_from_matrix(Q), cmap="RdBu_r", vmin=-1, vmax=1)
    ax.set_title(name)
    ax.set_xlabel("input component")
    ax.set_ylabel("output component")
fig.colorbar(im, ax=axes, shrink=0.8)
fig.suptitle(f"Wigner D matrix of {irreps_fig}")
plt.show()

# %% [markdown]
# ## 3. Spherical harmonics
#
# The real spherical harmonics $Y^l_m(x)$, $m = -l, \dots, l$, are homogeneous polynomials of
# degree $l$ in $(x, y, z)$ (with `normalize=False`) or their values on the unit sphere
# (`normalize=True`). The $2l+1$ harmonics of one $l$ transform as the irrep $l$ with parity
# $(-1)^l$:
#
# $$ Y^l(Q x) = D^l(Q)\, Y^l(x) \qquad \forall Q \in O(3). $$
#
# e3nn offers three normalisations: `"integral"` (the default; $\int_{S^2} (Y^l_m)^2\,d\Omega = 1$),
# `"component"` ($\sum_m (Y^l_m)^2 = 2l+1$ on the unit sphere, each component of order 1) and
# `"norm"` ($\sum_m (Y^l_m)^2 = 1$). Note e3nn's convention: its $m = 0$ harmonic is symmetric
# about the **y** axis, not z (printed below). Since release 0.2.2 e3nn orders the $l = 1$
# harmonics as $(x, y, z)$, so a vector's components are its `1o` features unchanged.
# Earlier releases used the textbook harmonics, with polar axis z and $l = 1$ ordered
# $(y, z, x)$ (e3nn's guide "Change of Basis", reference 7), and material made with them,
# the 2021 slides included, may show that order. The installed version is checked below.

# %%
irreps_sh = o3.Irreps.spherical_harmonics(3)  # 0e + 1o + 2e + 3o
x = torch.randn(n_samples, 3)
Q = random_o3()
Y = o3.spherical_harmonics(irreps_sh, x, normalize=True, normalization="component")
Y_rot = o3.spherical_harmonics(irreps_sh, x @ Q.T, normalize=True, normalization="component")
sh_equivariance_err = (Y_rot - Y @ irreps_sh.D_from_matrix(Q).T).abs().max().item()
results["spherical harmonics equivariance error"] = sh_equivariance_err

norm_checks = {}
for l in range(4):
    for normalization, expected in [("component", 2 * l + 1), ("norm", 1.0), ("integral", (2 * l + 1) / (4 * math.pi))]:
        Yl = o3.spherical_harmonics(l, x, normalize=True, normalization=normalization)
        norm_checks[(l, normalization)] = torch.allclose((Yl**2).sum(-1), torch.tensor(float(expected)))
# the polynomial form: homogeneous of degree l, parity (-1)^l; for l = 2 explicitly
Yp = [o3.spherical_harmonics(l, x, normalize=False, normalization="component") for l in range(4)]
homogeneous = all(torch.allclose(o3.spherical_harmonics(l, 1.7 * x, False, "component"), 1.7**l * Yp[l])
                  for l in range(4))
parity_ok = all(torch.allclose(o3.spherical_harmonics(l, -x, False, "component"), (-1) ** l * Yp[l])
                for l in range(4))
a, b, c = x.unbind(-1)
Y2_by_hand = torch.stack([15**0.5 * a * c, 15**0.5 * a * b, 5**0.5 * (b**2 - (a**2 + c**2) / 2),
                          15**0.5 * b * c, 15**0.5 / 2 * (c**2 - a**2)], dim=-1)

# %%
# NBVAL_CHECK_OUTPUT
print(f"irreps of the spherical harmonics up to l = 3: {irreps_sh}")
print(f"Y(Qx) = D(Q) Y(x), error below 1e-8: {sh_equivariance_err < 1e-8}")
print(f"all 12 normalisation sums as expected: {all(norm_checks.values())}")
print(f"homogeneous polynomials of degree l: {homogeneous}; parity (-1)^l: {parity_ok}")
print("Y^1 (component) = sqrt(3) (x, y, z):", torch.allclose(Yp[1], 3**0.5 * x))
print("Y^2 (component) = sqrt(15) (xz, xy, [y^2-(x^2+z^2)/2]/sqrt(3), yz, [z^2-x^2]/2):",
      torch.allclose(Yp[2], Y2_by_hand))
axes_xyz = torch.eye(3)
m0 = o3.spherical_harmonics(2, axes_xyz, normalize=True, normalization="component")[:, 2]
print("Y^2_0 on the x, y, z axes:", [round(v, 3) for v in m0.tolist()], "(largest on y)")

# %% [markdown]
# **Which $m$ is which orbital?** Chemistry names the real harmonics with $z$ as the polar
# axis ($d_{z^2}$ points along $z$, $d_{x^2-y^2}$ lies in the $xy$ plane). e3nn's polar axis
# is $y$, so the same shapes carry permuted names. The table names every component by
# evaluation, not by hand: it computes $Y^l_m$ on random points and finds the Cartesian
# polynomial it is proportional to, first in e3nn's own axes, then with the axes renamed
# cyclically so that e3nn's $y$ is called $z$ (e3nn's $z$, $x$, $y$ are called $x$, $y$, $z$:
# a cyclic relabelling, which keeps the axes right-handed). In the renamed axes e3nn's order $m = -l, \dots, l$ is the
# textbook order of real harmonics: $(p_y, p_z, p_x)$ and
# $(d_{xy}, d_{yz}, d_{z^2}, d_{xz}, d_{x^2-y^2})$.

# %%
ORBITALS = {  # Cartesian polynomial of (x, y, z) for each orbital name, l = 1 and l = 2
    1: {"x": lambda x, y, z: x, "y": lambda x, y, z: y, "z": lambda x, y, z: z},
    2: {"xy": lambda x, y, z: x * y, "yz": lambda x, y, z: y * z, "xz": lambda x, y, z: x * z,
        "x2-y2": lambda x, y, z: x**2 - y**2, "y2-z2": lambda x, y, z: y**2 - z**2,
        "z2-x2": lambda x, y, z: z**2 - x**2, "3x2-r2": lambda x, y, z: 2 * x**2 - y**2 - z**2,
        "3y2-r2": lambda x, y, z: 2 * y**2 - x**2 - z**2, "3z2-r2": lambda x, y, z: 2 * z**2 - x**2 - y**2},
}


def orbital_name(Y_m: torch.Tensor, xyz: torch.Tensor, l: int) -> str:
    """Name of the polynomial in ORBITALS[l] proportional to one harmonic component.

    Y_m: (n,) values of one component on n points; xyz: (n, 3) the same points in the axes
    the name refers to. A minus sign means proportional with a negative factor.
    """
    for name, poly in ORBITALS[l].items():
        p = poly(*xyz.unbind(-1))
        cosine = float(Y_m @ p / (Y_m.norm() * p.norm()))
        if abs(cosine) > 1 - 1e-12:
            return name if cosine > 0 else "-" + name
    return "none"


points = torch.randn(n_samples, 3)
renamed = points[:, [2, 0, 1]]  # chemistry axes: (x, y, z) are e3nn's (z, x, y)
sh_names = {}  # (l, m) -> (name in e3nn's axes, chemistry name)
for l in (1, 2):
    Yl = o3.spherical_harmonics(l, points, normalize=False, normalization="component")
    for m in range(-l, l + 1):
        chem = orbital_name(Yl[:, m + l], renamed, l).replace("3z2-r2", "z2")
        sh_names[(l, m)] = (orbital_name(Yl[:, m + l], points, l), "spd"[l] + "_" + chem)

# %%
# NBVAL_CHECK_OUTPUT
Y1_axes = o3.spherical_harmonics(1, torch.eye(3), normalize=True, normalization="component") / 3**0.5
order = ", ".join("xyz"[int(Y1_axes[:, m].abs().argmax())] for m in range(3))
print(f"Y^1 at the unit vectors e_x, e_y, e_z (rows), divided by sqrt(3):\n{Y1_axes.round(decimals=3) + 0.0}")
print(f"e3nn {e3nn.__version__} orders l = 1 as ({order}); e3nn's polar axis (where Y^2_0 peaks): "
      f"{'xyz'[int(m0.argmax())]}\n")
print(f"{'l':>2s} {'m':>3s}  {'polynomial, e3nn axes':22s} name with e3nn's y called z")
for (l, m), (e3nn_name, chem_name) in sh_names.items():
    print(f"{l:2d} {m:3d}  {e3nn_name:22s} {chem_name}")
circle = torch.linspace(0, 2 * math.pi, 721)[:-1]
planes = {"y = 0 (x-z plane)": torch.stack([circle.cos(), 0 * circle, circle.sin()], -1),
          "z = 0 (x-y plane)": torch.stack([circle.cos(), circle.sin(), 0 * circle], -1)}
for plane_name, ring in planes.items():
    f = o3.spherical_harmonics(2, ring, normalize=True, normalization="component")[:, 4].abs()
    lobes = int(((f > f.roll(1)) & (f >= f.roll(-1))).sum())
    print(f"lobes of Y^2_(m=2) on a circle in the plane {plane_name}: {lobes}")

# %% [markdown]
# **Figure** (interactive: drag to rotate). $|Y^l_m(\hat r)|$ as the radius of a surface,
# coloured by its sign, for $l = 0, \dots, 3$ (rows) and $m = -l, \dots, l$ (columns): the
# s, p, d and f orbitals.

# %%
n_grid = 24
theta, phi = torch.meshgrid(torch.linspace(0, math.pi, n_grid), torch.linspace(0, 2 * math.pi, 2 * n_grid),
                            indexing="ij")
unit = torch.stack([theta.sin() * phi.cos(), theta.sin() * phi.sin(), theta.cos()], dim=-1)
fig = make_subplots(rows=4, cols=7, specs=[[{"type": "scene"}] * 7] * 4, horizontal_spacing=0.0,
                    vertical_spacing=0.01)
for l in range(4):
    Yl = o3.spherical_harmonics(l, unit, normalize=True, normalization="component")
    for m in range(-l, l + 1):
        f = Yl[..., m + l]
        xyz = (f.abs()[..., None] * unit).numpy().astype(np.float32)
        fig.add_trace(go.Surface(x=xyz[..., 0], y=xyz[..., 1], z=xyz[..., 2], surfacecolor=f.numpy().astype(np.float32),
                                 colorscale="RdBu_r", cmin=-2.7, cmax=2.7, showscale=False), row=l + 1, col=m + 4)
no_axes = dict(visible=False)
fig.update_scenes(xaxis=no_axes, yaxis=no_axes, zaxis=no_axes, aspectmode="data")
fig.update_layout(height=620, width=980, margin=dict(l=0, r=0, t=30, b=0),
                  title="real spherical harmonics: rows l = 0..3, columns m = -3..3 (red > 0, blue < 0)")
fig.show()

# %% [markdown]
# ## 4. Tensor products and Clebsch-Gordan coefficients
#
# Two vectors $x, y$ give 9 products $x_i y_j$, a $3\times3$ matrix. It is reducible:
# $1 \otimes 1 = 0 \oplus 1 \oplus 2$, i.e. for two polar vectors
#
# $$ x \otimes y \;=\; \underbrace{x\cdot y}_{0e} \;\oplus\; \underbrace{x \times y}_{1e}
# \;\oplus\; \underbrace{\tfrac12(x y^\top + y x^\top) - \tfrac13 (x\cdot y)\,\mathbb{1}}_{2e}. $$
#
# The cross product is a pseudovector (`1e`): the parities multiply, $(-1)(-1) = +1$. The
# change of basis is given by the **Clebsch-Gordan** (Wigner 3j) coefficients
# $C^{l_1 l_2 l}_{m_1 m_2 m}$ (`o3.wigner_3j`):
# $(x \otimes y)^l_m = \sum_{m_1 m_2} C^{l_1 l_2 l}_{m_1 m_2 m}\, x_{m_1} y_{m_2}$ (up to a
# normalisation). They are nonzero only if $|l_1 - l_2| \le l \le l_1 + l_2$, and the output
# parity is $p_1 p_2$: the **selection rule**.

# %%
tp = o3.FullTensorProduct("1x1o", "1x1o")
x, y = torch.randn(n_samples, 3), torch.randn(n_samples, 3)
out = tp(x, y)  # (n_samples, 1 + 3 + 5)
part_0e, part_1e, part_2e = out[:, :1], out[:, 1:4], out[:, 4:]

dot = (x * y).sum(-1, keepdim=True)
cross = torch.linalg.cross(x, y)
sym = 0.5 * (x[:, :, None] * y[:, None, :] + y[:, :, None] * x[:, None, :])
sym_traceless = sym - dot[:, :, None] / 3 * torch.eye(3)
sym_irreps = TensorIrreps("ij=ji").to_irreps(sym_traceless)  # 0e + 2e of the Cartesian formula


def fit(a: torch.Tensor, b: torch.Tensor) -> tuple[float, float]:
    """Least-squares constant c with a = c b, and the largest residual |a - c b|."""
    c = float((a * b).sum() / (b * b).sum())
    return c, float((a - c * b).abs().max())


# %%
# NBVAL_CHECK_OUTPUT
print(f"1o x 1o -> {tp.irreps_out}")
for name, (a, b) in {"0e vs x.y": (part_0e, dot), "1e vs x cross y": (part_1e, cross),
                     "2e vs symmetric traceless": (part_2e, sym_irreps[:, 1:])}.items():
    c, residual = fit(a, b)
    print(f"{name:26s}: e3nn part = {c:.4f} x Cartesian formula, residual below 1e-12: {residual < 1e-12}")
print(f"symmetric traceless part has no 0e component: {sym_irreps[:, 0].abs().max() < 1e-12}")

# %% [markdown]
# The constants are normalisations ($1/\sqrt3$, $1/\sqrt2$, 1 in e3nn's `component`
# convention). The Clebsch-Gordan tensor is itself **invariant**: rotating its three indices
# with $D^{l_1}, D^{l_2}, D^{l}$ gives it back. That is why a tensor product is equivariant.

# %%
# NBVAL_CHECK_OUTPUT
C = o3.wigner_3j(1, 1, 2)  # (3, 3, 5)
D1, D2 = o3.Irrep("1e").D_from_matrix(R), o3.Irrep("2e").D_from_matrix(R)
C_rot = torch.einsum("ai,bj,ck,ijk->abc", D1, D1, D2, C)
direct = torch.einsum("ijk,ni,nj->nk", C, x, y) * 5**0.5  # the 2e part by hand
print(f"C(1,1,2) is invariant: {torch.allclose(C_rot, C)}")
print(f"sqrt(5) sum_ij C_ijk x_i y_j equals the 2e part of the tensor product: {torch.allclose(direct, part_2e)}")

# %% [markdown]
# **The selection-rule table**, built by e3nn (`FullTensorProduct(ir1, ir2).irreps_out`) and
# checked against the rule $|l_1-l_2| \le l \le l_1+l_2$, $p = p_1 p_2$ for every pair of
# irreps up to $l = 3$ with both parities:

# %%
# NBVAL_CHECK_OUTPUT
irreps_list = [o3.Irrep(l, p) for l in range(4) for p in (1, -1)]


def selection_rule(ir1: o3.Irrep, ir2: o3.Irrep) -> o3.Irreps:
    return o3.Irreps([(1, (l, ir1.p * ir2.p)) for l in range(abs(ir1.l - ir2.l), ir1.l + ir2.l + 1)])


agree = all(o3.FullTensorProduct(str(a), str(b)).irreps_out == selection_rule(a, b)
            for a in irreps_list for b in irreps_list)
print(f"e3nn agrees with the selection rule for all {len(irreps_list)**2} pairs: {agree}\n")
shown = ["0e", "1o", "1e", "2e", "2o", "3o"]
print(" " * 5 + "".join(f"{b:>22s}" for b in shown))
for a in shown:
    row = [str(o3.FullTensorProduct(a, b).irreps_out).replace("1x", "") for b in shown]
    print(f"{a:>4s} " + "".join(f"{s:>22s}" for s in row))

# %% [markdown]
# **Figure.** The Clebsch-Gordan coefficients $C^{1,1,l}_{ij\,m}$ of two vectors, one $3\times3$
# matrix (indices $i, j$ = x, y, z) per output component $m$: the identity (the dot product),
# three antisymmetric matrices (the cross product) and five symmetric traceless matrices.

# %%
fig, axes = plt.subplots(1, 9, figsize=(15, 2.2))
panel = 0
for l in range(3):
    C_l = o3.wigner_3j(1, 1, l)
    for m in range(2 * l + 1):
        axes[panel].imshow(C_l[:, :, m], cmap="RdBu_r", vmin=-0.6, vmax=0.6)
        axes[panel].set_title(f"l = {l}, m = {m - l}", fontsize=9)
        axes[panel].set_xticks(range(3), ["x", "y", "z"])
        axes[panel].set_yticks(range(3), ["x", "y", "z"])
        panel += 1
plt.show()

# %% [markdown]
# ## 5. Tensor products with weights: the point convolution
#
# A tensor product becomes a learnable layer by putting a weight on each **path**
# $(l_1, l_2 \to l)$ and mixing channels:
#
# * `FullTensorProduct`: every path, no weights;
# * `FullyConnectedTensorProduct(irreps_1, irreps_2, irreps_out)`: every allowed path, every
#   input channel pair connected to every output channel, one learnable weight each;
# * `TensorProduct(irreps_1, irreps_2, irreps_out, instructions)`: you list the paths
#   `(i_1, i_2, i_out, mode, has_weight)`; mode `"uvu"` keeps the channels of input 1.
#
# Weights can also come from outside (`internal_weights=False, shared_weights=False`): one set
# per edge. In a point convolution the features $h_j$ of neighbour $j$ meet the spherical
# harmonics of the edge direction, with weights from an MLP of the distance:
#
# $$ h_i' = \frac{1}{\sqrt{\bar n}}\sum_{j \in \mathcal N(i)} h_j \otimes_{R(r_{ij})} Y(\hat r_{ij}), \qquad
#    W(\vec r) = R(r)\, Y(\hat r), $$
#
# ($\bar n$: a typical number of neighbours), a filter whose radial part is learned and whose
# angular part is fixed by symmetry (tensor field networks; Thomas et al. 2018).

# %%
# NBVAL_CHECK_OUTPUT
tp_full = o3.FullTensorProduct("2x1o", "1x1o")
tp_fc = o3.FullyConnectedTensorProduct("2x0e + 2x1o", "1x0e + 1x1o", "3x0e + 2x1o + 1x1e")
print(tp_full)
print(tp_fc)
print(f"FullyConnectedTensorProduct: {len(tp_fc.instructions)} paths, {tp_fc.weight_numel} weights")

# %% [markdown]
# **22 paths or 5?** The two counts are of different things. A path in the sense of the
# selection rule is one coupling of irreps, $(l_1, l_2 \to l)$: `tp_fc.instructions` lists
# 5. e3nn's printout counts every *channel* path: a fully connected path couples each of the
# $m_1$ copies of the first irrep with each of the $m_2$ copies of the second into each of the
# $m_\text{out}$ outputs, with one weight each, $m_1 m_2 m_\text{out}$ in all. Summed over
# the 5 irrep paths that gives the 22 weights:

# %%
# NBVAL_CHECK_OUTPUT
channel_paths = 0
for ins in tp_fc.instructions:
    (m1, ir1), (m2, ir2) = tp_fc.irreps_in1[ins.i_in1], tp_fc.irreps_in2[ins.i_in2]
    m_out, ir_out = tp_fc.irreps_out[ins.i_out]
    channel_paths += m1 * m2 * m_out
    print(f"{ir1} x {ir2} -> {ir_out}: {m1} x {m2} x {m_out} = {m1 * m2 * m_out} weights")
print(f"{len(tp_fc.instructions)} irrep paths, {channel_paths} channel paths = {tp_fc.weight_numel} weights")
fig, ax = tp_fc.visualize()
ax.set_title("FullyConnectedTensorProduct: inputs left and right, outputs below")
plt.show()


# %%
class PointConvolution(torch.nn.Module):
    """One layer h_i' = Linear(sum_j TP(h_j, Y(r_ij); R(|r_ij|)) / sqrt(n_bar)); distances in Å."""

    def __init__(self, irreps_in, irreps_out, l_max=2, r_max=2.5, n_basis=8, num_neighbors=4.0):
        super().__init__()
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        self.irreps_sh = o3.Irreps.spherical_harmonics(l_max)
        self.r_max, self.n_basis, self.num_neighbors = r_max, n_basis, num_neighbors
        irreps_mid, instructions = [], []
        for i1, (mul, ir_in) in enumerate(self.irreps_in):
            for i2, (_, ir_sh) in enumerate(self.irreps_sh):
                for ir_out in ir_in * ir_sh:  # the selection rule
                    if ir_out in self.irreps_out:
                        instructions.append((i1, i2, len(irreps_mid), "uvu", True))
                        irreps_mid.append((mul, ir_out))
        self.tp = o3.TensorProduct(self.irreps_in, self.irreps_sh, irreps_mid, instructions,
                                   internal_weights=False, shared_weights=False)
        self.radial = nn.FullyConnectedNet([n_basis, 16, self.tp.weight_numel], torch.nn.functional.silu)
        self.linear = o3.Linear(self.tp.irreps_out, self.irreps_out)

    def forward(self, pos: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        j, i = radius_graph(pos, self.r_max)  # neighbour j sends to centre i
        edge_vec = pos[j] - pos[i]
        Y = o3.spherical_harmonics(self.irreps_sh, edge_vec, normalize=True, normalization="component")
        basis = soft_one_hot_linspace(edge_vec.norm(dim=1), 0.0, self.r_max, self.n_basis,
                                      basis="smooth_finite", cutoff=True) * self.n_basis**0.5
        messages = self.tp(h[j], Y, self.radial(basis))  # R(r) gives one weight per path and channel
        summed = torch.zeros(len(pos), messages.shape[1]).index_add_(0, i, messages)
        return self.linear(summed / self.num_neighbors**0.5)


# %%
conv = PointConvolution("4x0e + 2x1o", "4x0e + 2x1o + 1x1e + 1x2e")
n_atoms = pick(full=24, quick=12)
pos = 3.0 * torch.rand(n_atoms, 3)  # a random cluster of atoms, Å
h = conv.irreps_in.randn(n_atoms, -1)
out = conv(pos, h)
errors = equivariance_error(conv, [pos, h], irreps_in=["cartesian_points", conv.irreps_in],
                            irreps_out=[conv.irreps_out], ntrials=3, do_parity=True, do_translation=True)
conv_err = max(float(e.max()) for e in errors.values())
results["point convolution equivariance error"] = conv_err
print(f"{conv.tp.irreps_out.simplify()} -> Linear -> {conv.irreps_out}; {conv.tp.weight_numel} weights per edge")
print(f"output {tuple(out.shape)}; largest equivariance error (rotations, inversion, translations): {conv_err:.1e}")

# %%
# NBVAL_CHECK_OUTPUT
print(f"point convolution is equivariant, error below 1e-8: {conv_err < 1e-8}")
print(f"irreps: {conv.irreps_in} -> {conv.irreps_out}, radial MLP outputs {conv.tp.weight_numel} weights per edge")

# %% [markdown]
# **Figure.** Left: the radial functions $R(r)$ the (untrained) MLP produces for the first
# weights, smooth and zero beyond $r_\text{max}$. Right: one filter component
# $W(\vec r) = R(r)\,Y^2_{2}(\hat r)$. In e3nn's axes this component is proportional to
# $z^2 - x^2$ (the table of section 3), the $d_{x^2-y^2}$ shape turned into the plane
# perpendicular to e3nn's polar axis $y$. So it is drawn in the plane $y = 0$, where it shows
# the familiar four lobes; in the plane $z = 0$ the same component is $\propto -x^2$, a
# dumbbell with two lobes (both lobe counts printed in section 3).

# %%
r_grid = torch.linspace(0.0, conv.r_max * 1.1, 200)
with torch.no_grad():
    R_of_r = conv.radial(soft_one_hot_linspace(r_grid, 0.0, conv.r_max, conv.n_basis, basis="smooth_finite",
                                               cutoff=True) * conv.n_basis**0.5)
    u = torch.linspace(-conv.r_max, conv.r_max, 121)
    X, Z = torch.meshgrid(u, u, indexing="xy")
    plane = torch.stack([X, torch.zeros_like(X), Z], dim=-1).reshape(-1, 3)  # the plane y = 0
    basis = soft_one_hot_linspace(plane.norm(dim=1), 0.0, conv.r_max, conv.n_basis, basis="smooth_finite",
                                  cutoff=True) * conv.n_basis**0.5
    W = conv.radial(basis)[:, 0] * o3.spherical_harmonics(2, plane, normalize=True, normalization="component")[:, 4]
fig, axes = plt.subplots(1, 2, figsize=(11, 4))
for k in range(6):
    axes[0].plot(r_grid, R_of_r[:, k], label=f"weight {k}")
axes[0].axvline(conv.r_max, color="grey", ls=":")
axes[0].set_xlabel("distance r (Å)")
axes[0].set_ylabel("R(r)")
axes[0].legend(fontsize=8)
im = axes[1].imshow(W.reshape(121, 121), extent=[-conv.r_max, conv.r_max] * 2, origin="lower", cmap="RdBu_r")
axes[1].set_xlabel("x (Å)")
axes[1].set_ylabel("z (Å)")
polynomial = "$" + sh_names[(2, 2)][0].replace("2", "^2").replace("-", " - ") + "$"  # from the table
axes[1].set_title(rf"filter $R(r)\,Y^2_{{m=2}}(\hat r) \propto$ {polynomial} in the plane y = 0")
fig.colorbar(im, ax=axes[1])
plt.show()

# %% [markdown]
# ## 6. Nonlinearities: why ReLU on vectors fails, and the gate
#
# A pointwise nonlinearity is fine on scalars ($\sigma$ commutes with $D = 1$), but applying
# ReLU to the three components of a vector depends on the axes:
# $\mathrm{ReLU}(Qv) \ne Q\,\mathrm{ReLU}(v)$. The **gated nonlinearity** keeps equivariance:
# scalars go through any activation, and each non-scalar irrep is multiplied by a scalar gate
# $\sigma(s)$, which does not change its direction,
#
# $$ \mathrm{Gate}(s, g, v) = \big(\mathrm{ReLU}(s),\ \mathrm{sigmoid}(g)\,v\big). $$

# %%
irreps_h = o3.Irreps("4x0e + 4x1o")
h = irreps_h.randn(n_samples, -1)
D_h = irreps_h.D_from_matrix(g)
relu_diff = torch.relu(h @ D_h.T) - torch.relu(h) @ D_h.T
relu_err_scalars, relu_err_vectors = relu_diff[:, :4].abs().max().item(), relu_diff[:, 4:].abs().max().item()
relu_rel = (relu_diff.norm() / (torch.relu(h) @ D_h.T).norm()).item()

gate = nn.Gate("4x0e", [torch.relu], "4x0e", [torch.sigmoid], "4x1o")  # scalars, gates, gated
errors = equivariance_error(gate, [gate.irreps_in.randn(n_samples, -1)], irreps_in=[gate.irreps_in],
                            irreps_out=[gate.irreps_out], ntrials=3)
gate_err = max(float(e.max()) for e in errors.values())
results["ReLU on vectors, relative equivariance error"] = relu_rel
results["Gate equivariance error"] = gate_err
print(f"ReLU: error on the scalar channels {relu_err_scalars:.1e}, on the vector channels {relu_err_vectors:.2f}")
print(f"ReLU: relative error {relu_rel:.2f}; Gate {gate.irreps_in} -> {gate.irreps_out}: error {gate_err:.1e}")

# %%
# NBVAL_CHECK_OUTPUT
print(f"ReLU on scalars is equivariant: {relu_err_scalars < 1e-12}")
print(f"ReLU on vector components breaks equivariance (relative error above 0.1): {relu_rel > 0.1}")
print(f"Gate is equivariant, error below 1e-8: {gate_err < 1e-8}")

# %% [markdown]
# **Figure.** "Rotate, then apply the nonlinearity" against "apply, then rotate" for the
# vector channels. Points off the diagonal are the broken equivariance of ReLU; the gate
# keeps them on it.

# %%
h_gate = gate.irreps_in.randn(300, -1)
D_in, D_out = gate.irreps_in.D_from_matrix(g), gate.irreps_out.D_from_matrix(g)
pairs = {"ReLU on components": (torch.relu(h[:300] @ D_h.T)[:, 4:], (torch.relu(h[:300]) @ D_h.T)[:, 4:]),
         "Gate": (gate(h_gate @ D_in.T)[:, 4:], (gate(h_gate) @ D_out.T)[:, 4:])}
fig, axes = plt.subplots(1, 2, figsize=(8, 4))
for ax, (name, (a, b)) in zip(axes, pairs.items()):
    a, b = a.detach().flatten(), b.detach().flatten()
    ax.scatter(b, a, s=3, alpha=0.4)
    lim = float(max(a.abs().max(), b.abs().max()))
    ax.plot([-lim, lim], [-lim, lim], color="grey", lw=1)
    ax.set_title(name)
    ax.set_xlabel("act, then rotate")
    ax.set_ylabel("rotate, then act")
    ax.set_aspect("equal")
plt.show()

# %% [markdown]
# ## Summary
# Each point with the number this notebook computed:

# %%
print("- O(3) axioms hold numerically:", all(axioms.values()))
print("- D(g)D(h) = D(gh) for 0e+0o+1o+1e+2e+2o+3o, error:", f"{homomorphism_err:.1e}")
print("- spherical harmonics l <= 3: Y(Qx) = D(Q)Y(x), error:", f"{sh_equivariance_err:.1e}")
print(f"- e3nn's l = 1 order is ({order}); its l = 2, m = 0 harmonic is {sh_names[(2, 0)][0]} "
      f"({sh_names[(2, 0)][1]} with y called z), m = 2 is {sh_names[(2, 2)][0]} ({sh_names[(2, 2)][1]})")
print("- 1o x 1o =", tp.irreps_out, "= dot product + cross product + symmetric traceless part")
print(f"- FullyConnectedTensorProduct: {len(tp_fc.instructions)} irrep paths, {tp_fc.weight_numel} weights")
print("- point convolution W(r) = R(r)Y(r_hat), equivariance error:", f"{conv_err:.1e}")
print("- ReLU on vector components, relative error:", f"{relu_rel:.2f}", "; Gate:", f"{gate_err:.1e}")
headline("point convolution equivariance error", conv_err)

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (quadrupole).** The electric quadrupole moment of point charges $q_a$ at
# $r_a$ is $Q_{ij} = \sum_a q_a (3 r_{a,i} r_{a,j} - r_a^2 \delta_{ij})$. Which irreps does it
# contain? *Hint:* it is symmetric, so split it with `TensorIrreps("ij=ji")` as section 4
# split the symmetric part of $x \otimes y$ (notebook 07 explains the tool); then look at its
# `0e` component for random charges.

# %% hint="TensorIrreps('ij=ji').to_irreps(quad); the first number is the 0e component" tags=["solution"]
# NBVAL_CHECK_OUTPUT
# Solution to exercise 1
charges, positions = torch.randn(5), torch.randn(5, 3)
quad = (charges[:, None, None] * (3 * positions[:, :, None] * positions[:, None, :]
        - (positions**2).sum(-1)[:, None, None] * torch.eye(3))).sum(0)
x_quad = TensorIrreps("ij=ji").to_irreps(quad)
print("symmetric matrix:", TensorIrreps("ij=ji").irreps)
print("0e part of the quadrupole vanishes:", abs(float(x_quad[0])) < 1e-12)
kept = o3.Irreps([(mul, ir) for mul, ir in TensorIrreps("ij=ji").irreps if ir.l > 0])
print(f"so the quadrupole is {kept} ({kept.dim} components), the irrep of the d orbitals")

# %% [markdown]
# **Exercise 2 (build an equivariant layer).** Node features `h` with irreps `3x0e + 2x1o`
# meet the spherical harmonics of an edge direction, `0e + 1o + 2e`, as in the point
# convolution of section 5. (a) Build the gate `gate_layer = nn.Gate("2x0e", [silu], "4x0e",
# [sigmoid], "2x1o + 2x2e")` of section 6 and, feeding it,
# `o3.FullyConnectedTensorProduct(irreps_node, irreps_edge, gate_layer.irreps_in)`. (b) Predict from the selection rule how many irrep paths the
# tensor product has and how many weights ($m_1 m_2 m_\text{out}$ per path, section 5), and
# compare with `len(tp.instructions)` and `tp.weight_numel`. (c) Check numerically on random
# O(3) elements that the layer $\mathrm{Gate}(h \otimes Y)$ is equivariant: rotating $h$
# with $D(Q)$ and the edge vectors with $Q$ rotates the output with $D(Q)$. *Hint:*
# `random_o3(10)`, `Irreps.D_from_matrix(Q)`, and `ir_out in ir1 * ir2` for the selection rule.

# %% hint="loop over (mul, ir) of both inputs and the output; compare out(D h, Y(Q r)) with out(h, Y(r)) @ D_out.T" tags=["solution"]
# NBVAL_CHECK_OUTPUT
# Solution to exercise 2
irreps_node, irreps_edge = o3.Irreps("3x0e + 2x1o"), o3.Irreps.spherical_harmonics(2)
gate_layer = nn.Gate("2x0e", [torch.nn.functional.silu], "4x0e", [torch.sigmoid], "2x1o + 2x2e")
tp_layer = o3.FullyConnectedTensorProduct(irreps_node, irreps_edge, gate_layer.irreps_in)


def layer(h: torch.Tensor, edge_vec: torch.Tensor) -> torch.Tensor:
    """Gate(h x Y(edge)): node features (n, 3x0e+2x1o), edge vectors (n, 3) -> (n, 2x0e+2x1o+2x2e)."""
    Y = o3.spherical_harmonics(irreps_edge, edge_vec, normalize=True, normalization="component")
    return gate_layer(tp_layer(h, Y))


predicted_paths, predicted_weights = 0, 0
for m1, ir1 in irreps_node:
    for m2, ir2 in irreps_edge:
        for m_out, ir_out in tp_layer.irreps_out:
            if ir_out in ir1 * ir2:  # the selection rule
                predicted_paths += 1
                predicted_weights += m1 * m2 * m_out
print(f"{irreps_node} x {irreps_edge} -> {tp_layer.irreps_out} -> Gate -> {gate_layer.irreps_out}")
print(f"irrep paths: predicted {predicted_paths}, e3nn {len(tp_layer.instructions)}")
print(f"weights: predicted {predicted_weights}, e3nn {tp_layer.weight_numel}")
h_nodes, edge_vecs = irreps_node.randn(n_samples, -1), torch.randn(n_samples, 3)
Qs_layer = random_o3(10)
layer_errors = [(layer(h_nodes @ irreps_node.D_from_matrix(Q).T, edge_vecs @ Q.T)
                 - layer(h_nodes, edge_vecs) @ gate_layer.irreps_out.D_from_matrix(Q).T).abs().max().item()
                for Q in Qs_layer]
n_improper = int((torch.linalg.det(Qs_layer) < 0).sum())
print(f"equivariant on {len(Qs_layer)} random O(3) elements, error below 1e-8: {max(layer_errors) < 1e-8}")
print(f"of them with det = -1 (inversion times a rotation): at least one: {n_improper > 0}")

# %% [markdown]
# ## Appendix (after the workshop): physical tensors and crystal symmetry
#
# Physical tensors as irreps (`ReducedTensorProducts`, the `TensorIrreps` of exercise 1) and
# what a crystal's point group allows (Neumann's principle, the group average as a projector,
# the count of independent components in all 32 crystal classes), with their exercises on the
# hyperpolarizability and on optical activity, are now the first part of **notebook 07**
# (tensor properties of crystals). There they lead on to a periodic e3nn network whose output
# is the dielectric or the elastic tensor of a crystal, and to checks that its predictions
# obey every crystal's symmetry.

# %% [markdown]
# ## References
# 1. M. Geiger and T. Smidt, e3nn: Euclidean Neural Networks, arXiv:2207.09453 (2022).
# 2. N. Thomas, T. Smidt, S. Kearnes, L. Yang, L. Li, K. Kohlhoff and P. Riley, Tensor field
#    networks: Rotation- and translation-equivariant neural networks for 3D point clouds,
#    arXiv:1802.08219 (2018).
# 3. M. Weiler, M. Geiger, M. Welling, W. Boomsma and T. Cohen, 3D Steerable CNNs: Learning
#    Rotationally Equivariant Features in Volumetric Data, NeurIPS 2018, arXiv:1807.02547.
# 4. J. F. Nye, Physical Properties of Crystals: Their Representation by Tensors and
#    Matrices, Oxford University Press (1957).
# 5. M. S. Dresselhaus, G. Dresselhaus and A. Jorio, Group Theory: Application to the Physics
#    of Condensed Matter, Springer (2008).
# 6. S. Batzner et al., E(3)-equivariant graph neural networks for data-efficient and
#    accurate interatomic potentials, Nature Communications 13, 2453 (2022).
# 7. e3nn documentation, guide "Change of Basis" (the switch to the y-polar basis in release
#    0.2.2), https://docs.e3nn.org/en/latest/guide/change_of_basis.html.
