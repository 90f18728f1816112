# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/e3nn-materials/e3nn-materials-tutorial/blob/v0.1.0/notebooks/06_phonon_dos.ipynb)
#
# # 06. Predicting phonon densities of states of crystals
#
# **The talk behind this notebook** (MRS Fall Meeting 2021 e3nn tutorial, recorded): Tutorial 6, by Andrejevic and Chen, the sixth video of [the recorded playlist](https://www.youtube.com/watch?v=q9EwZsHY1sk&list=PLx3xbphkO3qIlBoESkbafXaDtr0tq5iRd).

# %% [markdown]
# ## What you will learn
# - turn a crystal into a periodic graph with element-and-mass node features, including a
#   *weighted* element encoding for sites shared by several elements (alloys);
# - build and train an e3nn network that maps a crystal to its whole phonon density of states
#   (DoS), a 51-point non-negative curve, by mean-pooling per-atom contributions;
# - judge the predictions the way a physicist would: MSE and two definitions of $R^2$, and the
#   heat capacity $C_v(300\,\mathrm{K})$ and mean phonon frequency computed from the DoS;
# - check that the prediction does not depend on the choice of unit cell or on rotations, and
#   measure how the model fares on crystals with elements it has never seen;
# - compare direct prediction with the other route: the Hessian of a pretrained universal
#   potential (SevenNet-0) plus phonopy.
#
# **Prerequisites:** notebooks 02 (irreps and tensor products) and 03 (equivariant
# descriptors of atomic environments); notebook 04 trains a message-passing network like the
# one here. Basic solid-state physics: phonons, the density of states, heat capacity.
#
# **Run time** on 2 CPU cores: quick mode (`TUTORIAL_QUICK=1`) about 2 min,
# full mode about 12 min. Training stops at a wall-time budget, so on a slower or busier
# machine the model trains for fewer epochs and its numbers move a little.

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
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
import torch
from ase.data import chemical_symbols
from torch_geometric.loader import DataLoader

from tutorial_utils import pick
from tutorial_utils.data import fetch
from tutorial_utils.data.phonon import load_phonon_dos
from tutorial_utils.notebook_cells import show_source
from tutorial_utils.nn import InteractionBlock, average_num_neighbors
from tutorial_utils.phonons import (MODEL_HPARAMS, TRAIN_HPARAMS, PhononDoSNet,
                                    average_frequency, cell_variants, crystal_to_data, dos_loss,
                                    dos_metrics, element_stratified_split, heat_capacity,
                                    predict_dos)
from tutorial_utils.plotting import plot_history, view_structure
from tutorial_utils.symmetry import random_o3, transform_atoms
from tutorial_utils.training import train

# The graphs here are small: one thread avoids the cost of splitting small operations
# between threads, and is the fastest choice on a 2-core machine.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. The data: crystals and their phonon DoS
#
# The phonon density of states $g(\nu)$ counts the vibrational modes of a crystal per
# frequency interval. From it follow thermodynamic quantities such as the vibrational heat
# capacity and entropy, and it is measured directly by inelastic neutron scattering.
# Computing it from first principles (density-functional perturbation theory, DFPT) costs
# hours to days of CPU time per crystal.
#
# Our data are the DFPT phonon DoS of 1521 Materials Project crystals (Petretto et al.,
# 2018), as prepared for the 2021 e3nn tutorial (Chen et al., 2021): each DoS is sampled at
# 51 frequencies $\nu_k = 0, 20, \dots, 1000\ \mathrm{cm^{-1}}$ and scaled so that its
# maximum is 1. `fetch` downloads the file once and checks its sha256 checksum; the loader
# parses the structure text with `ast.literal_eval` (data, never code) and validates every row.

# %%
path = fetch("phonon_dos")  # downloaded once, then read from the cache
t0 = time.perf_counter()
records = load_phonon_dos(path)
freq = records[0].freq  # cm^-1, the same 51 points for every crystal
elements = sorted({int(z) for r in records for z in r.atoms.numbers})
print(f"loaded in {time.perf_counter() - t0:.1f} s")

# %%
# NBVAL_CHECK_OUTPUT
n_atoms = np.array([len(r.atoms) for r in records])
print(f"{len(records)} crystals, {len(elements)} elements, {n_atoms.min()}-{n_atoms.max()} atoms per cell "
      f"(median {int(np.median(n_atoms))})")
print(f"frequency grid: {len(freq)} points from {freq[0]:.0f} to {freq[-1]:.0f} cm^-1, step {freq[1] - freq[0]:.0f}")
print(f"every DoS has maximum 1: {all(abs(r.dos.max() - 1) < 1e-6 for r in records)}")

# %% [markdown]
# A few examples. Light elements and strong bonds push modes to high frequency (oxides,
# fluorides), heavy atoms and weak bonds keep them low (iodides, bismuth compounds).

# %%
by_id = {r.mp_id: r for r in records}
fig, axes = plt.subplots(1, 4, figsize=(13, 2.8), sharey=True)
for ax, k in zip(axes, [0, 300, 700, 1100]):
    r = records[k]
    ax.fill_between(freq, r.dos, alpha=0.4)
    ax.plot(freq, r.dos)
    ax.set_title(f"{r.atoms.get_chemical_formula()} ({r.mp_id})", fontsize=9)
    ax.set_xlabel("frequency [cm$^{-1}$]")
axes[0].set_ylabel("DoS (max = 1)")
plt.tight_layout()
plt.show()

# %% [markdown]
# ### Crystals as periodic graphs
#
# Each atom is a node; an edge joins atom $i$ to every periodic image of atom $j$ within
# $r_\text{max}$, with the edge vector
# $\vec r_{ij} = \vec x_j - \vec x_i + \vec n\cdot\mathbf{A}$ ($\mathbf{A}$: the cell
# vectors as rows, $\vec n$: the integer cell shift). The foundation's periodic radius graph
# builds this list (`tutorial_utils.graphs`).
#
# **Node features from element and mass.** Site $i$ carries a composition vector
# $c_i \in [0,1]^{118}$ and its mean mass:
# $$x_i = \Big(c_{i,1}, \dots, c_{i,118},\ \textstyle\sum_Z c_{i,Z}\, m_Z / 100\,\mathrm{u}\Big).$$
# For an ordinary site $c_i$ is one-hot. For a site shared by several elements (an alloy,
# e.g. Sb$_{1-p}$Bi$_p$) $c_i$ holds the fractions, so the network's linear embedding of
# $x_i$ is the fraction-weighted mixture of the elements' embeddings (section 6 uses this).

# %%
r_max = MODEL_HPARAMS["r_max"]  # Å
example = by_id["mp-2646"]  # Mg3Sb2, used again in section 6
g = crystal_to_data(example.atoms, r_max, dos=example.dos)
print(example.atoms.get_chemical_formula(), "|", g)
nonzero = torch.nonzero(g.x[-1]).flatten().tolist()  # the last site is an Sb atom
print("node features x:", tuple(g.x.shape), "| nonzero entries for an Sb site:",
      [f"{chemical_symbols[c + 1] if c < 118 else 'mass/100 u'}={g.x[-1, c]:.3f}" for c in nonzero])

# %%
t0 = time.perf_counter()
graphs = [crystal_to_data(r.atoms, r_max, dos=r.dos) for r in records]
print(f"{len(graphs)} graphs in {time.perf_counter() - t0:.1f} s, "
      f"{average_num_neighbors(graphs):.1f} neighbours per atom within {r_max} Å on average")

# %%
fig = view_structure(example.atoms.repeat((2, 2, 1)), title="Mg3Sb2, 2x2x1 cells (Mg green, Sb purple)")
fig.show()

# %% [markdown]
# ## 2. An equivariant network for a whole spectrum
#
# The network (`tutorial_utils.phonons.PhononDoSNet`) is a head on the same backbone as
# notebook 04's potential (`tutorial_utils.nn`: the same interaction block):
#
# 1. embed each node's features $x_i$ into scalars $h_i^{(0)}$;
# 2. $L$ interaction layers: messages
#    $m_{ij} = \mathrm{TP}\big(h_j,\ Y^{(l\le l_\text{max})}(\hat r_{ij});\ R(|r_{ij}|)\big)$,
#    a tensor product of the neighbour's features with the spherical harmonics of the edge
#    direction, weighted by a learned function of the distance (Bessel basis times a smooth
#    cutoff at $r_\text{max}$); summed over neighbours, mixed linearly, passed through a
#    gated nonlinearity, plus a self-connection (here a plain linear map: the element
#    information enters through the embedding, which also reads the mass);
# 3. each atom's invariant (0e) features go through a small MLP and a softplus, giving a
#    non-negative per-atom DoS $g_i(\nu_k) \ge 0$;
# 4. the crystal's DoS is the **mean over its atoms**, divided by its maximum:
#    $$\hat g(\nu_k) = \frac{\bar g(\nu_k)}{\max_{k'} \bar g(\nu_{k'})},\qquad
#    \bar g(\nu_k) = \frac{1}{N}\sum_{i=1}^N g_i(\nu_k).$$
#
# The mean (not the sum) is what makes the output *intensive*: a supercell repeats every
# atom's environment, so it has the same mean (section 4 checks this). The output is 51
# scalars (`51x0e`): the DoS does not change when the crystal rotates.

# %%
show_source(InteractionBlock.forward)
show_source(PhononDoSNet.atom_dos)
show_source(PhononDoSNet.forward)

# %%
torch.manual_seed(0)
model = PhononDoSNet(**MODEL_HPARAMS, avg_num_neighbors=average_num_neighbors(graphs))
print("hyperparameters:", MODEL_HPARAMS)
print("irreps after each layer:", [str(block.irreps_out) for block in model.blocks])
print(f"{sum(p.numel() for p in model.parameters())} parameters")

# %%
# NBVAL_CHECK_OUTPUT
with torch.no_grad():
    out = model(next(iter(DataLoader(graphs[:8], batch_size=8))))
print("output shape:", tuple(out.shape), "| non-negative:", bool((out >= 0).all()),
      "| maximum of each DoS is 1:", bool(torch.allclose(out.max(dim=1).values, torch.ones(8))))

# %% [markdown]
# ### A split that keeps every element in training
#
# A random split can put every crystal of a rare element into the test set; the model then
# meets an element it has never seen (section 5 does that on purpose). Here we visit the
# elements from the rarest to the most common and split the not-yet-assigned crystals of each
# 80/10/10, with at least one crystal going to training.

# %%
# NBVAL_CHECK_OUTPUT
element_sets = [set(r.atoms.numbers.tolist()) for r in records]
train_idx, valid_idx, test_idx = element_stratified_split(element_sets, (0.8, 0.1, 0.1), seed=0)
in_train = set().union(*(element_sets[i] for i in train_idx))
print(f"train/valid/test: {len(train_idx)}/{len(valid_idx)}/{len(test_idx)}")
print("every element in the data set is in the training set:", in_train == set(elements))

# %% [markdown]
# ## 3. Training and evaluation
#
# The loss is the mean squared error over all bins. We use the shared training loop (AdamW,
# cosine learning-rate schedule, the weights of the best validation epoch are kept). Quick
# mode trains on a subset for a few epochs; full mode trains on all training crystals within
# a wall-time budget.

# %%
n_train = pick(full=len(train_idx), quick=400)
train_subset = np.random.default_rng(0).permutation(train_idx)[:n_train]  # all of them in full mode
epochs = pick(full=TRAIN_HPARAMS["epochs"], quick=12)
budget_s = pick(full=TRAIN_HPARAMS["max_seconds"], quick=75.0)
train_loader = DataLoader([graphs[i] for i in train_subset], batch_size=TRAIN_HPARAMS["batch_size"], shuffle=True)
valid_loader = DataLoader([graphs[i] for i in valid_idx], batch_size=64)
t0 = time.perf_counter()
history = train(model, dos_loss, train_loader, valid_loader, epochs=epochs, lr=TRAIN_HPARAMS["lr"],
                weight_decay=TRAIN_HPARAMS["weight_decay"], schedule=TRAIN_HPARAMS["schedule"],
                max_seconds=budget_s)
train_seconds = time.perf_counter() - t0
print(history.summary())
print(f"training time: {train_seconds / 60:.1f} min on {torch.get_num_threads()} thread(s), {n_train} crystals")

# %%
plot_history(history)
plt.title("MSE loss")
plt.show()

# %% [markdown]
# **Metrics.** With $y_{nk}$ the true and $\hat y_{nk}$ the predicted DoS of test crystal
# $n$ at bin $k$: $\mathrm{MSE} = \frac{1}{NK}\sum_{nk}(y_{nk}-\hat y_{nk})^2$ and
# $R^2 = 1 - \sum_{nk}(y_{nk}-\hat y_{nk})^2 / \sum_{nk}(y_{nk}-\bar y)^2$. The value of
# $R^2$ depends on the mean $\bar y$ it is compared with, so we report both:
# - **global mean**: one $\bar y$ over all crystals and bins;
# - **per-bin means**: $\bar y_k$ for each frequency bin, so that predicting the average
#   DoS *shape* for every crystal scores 0 (the stricter number).
#
# **Physics from the DoS.** With $g$ normalised to $3$ modes per atom, the harmonic heat
# capacity and the mean frequency are
# $$C_v(T) = 3k_B\,\frac{\sum_k g(\nu_k)\,E(x_k)}{\sum_k g(\nu_k)},\quad
# E(x) = \frac{x^2 e^x}{(e^x-1)^2},\ x_k = \frac{hc\,\nu_k}{k_B T},\qquad
# \bar\nu = \frac{\sum_k \nu_k\, g(\nu_k)}{\sum_k g(\nu_k)}.$$
# $C_v$ is in units of $k_B$ per atom (the classical Dulong-Petit limit is 3).

# %%
y_test = np.stack([records[i].dos for i in test_idx])
t0 = time.perf_counter()
y_pred = predict_dos(model, [graphs[i] for i in test_idx])
direct_seconds_per_crystal = (time.perf_counter() - t0) / len(test_idx)
metrics = dos_metrics(y_test, y_pred)
cv_true, cv_pred = heat_capacity(freq, y_test, T=300.0), heat_capacity(freq, y_pred, T=300.0)
nu_true, nu_pred = average_frequency(freq, y_test), average_frequency(freq, y_pred)
cv_mae, nu_mae = np.abs(cv_true - cv_pred).mean(), np.abs(nu_true - nu_pred).mean()
print(f"test set ({len(test_idx)} crystals): MSE {metrics['mse']:.4f} | R^2 (global mean) {metrics['r2_global']:.3f}"
      f" | R^2 (per-bin means) {metrics['r2_per_bin']:.3f}")
print(f"C_v(300 K): MAE {cv_mae:.4f} k_B/atom ({cv_mae * 8.314:.3f} J/(mol K)), true values span "
      f"{cv_true.min():.2f}-{cv_true.max():.2f} k_B/atom")
print(f"mean phonon frequency: MAE {nu_mae:.1f} cm^-1, true values span {nu_true.min():.0f}-{nu_true.max():.0f} cm^-1")
print(f"prediction cost: {1e3 * direct_seconds_per_crystal:.1f} ms per crystal")

# %%
fig, axes = plt.subplots(1, 2, figsize=(8, 3.6))
for ax, t, p, label in [(axes[0], cv_true, cv_pred, "$C_v$(300 K) [$k_B$/atom]"),
                        (axes[1], nu_true, nu_pred, r"$\bar\nu$ [cm$^{-1}$]")]:
    lo, hi = min(t.min(), p.min()), max(t.max(), p.max())
    ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
    ax.scatter(t, p, s=8, alpha=0.6)
    ax.set_xlabel(f"DFPT {label}")
    ax.set_ylabel(f"predicted {label}")
plt.tight_layout()
plt.show()

# %% [markdown]
# **Predictions by error quartile.** Sort the test crystals by their MSE and show examples
# from each quarter: the best quarter (left) to the worst (right). This shows what a "typical"
# error looks like, rather than only the best cases.

# %%
mse_each = ((y_test - y_pred) ** 2).mean(axis=1)
order = np.argsort(mse_each)
quartiles = np.array_split(order, 4)
rows = 4
fig, axes = plt.subplots(rows, 4, figsize=(13, 1.9 * rows), sharex=True, sharey=True)
rng = np.random.default_rng(0)
for q, members in enumerate(quartiles):
    for row, n in enumerate(np.sort(rng.choice(members, size=rows, replace=False))):
        ax = axes[row, q]
        ax.fill_between(freq, y_test[n], color="lightgrey", label="DFPT")
        ax.plot(freq, y_pred[n], color="C3", label="predicted")
        ax.set_title(f"{records[test_idx[n]].atoms.get_chemical_formula()}  MSE {mse_each[n]:.3f}", fontsize=8)
    axes[0, q].annotate(f"quartile {q + 1}", (0.5, 1.35), xycoords="axes fraction", ha="center", fontsize=10)
for ax in axes[-1]:
    ax.set_xlabel("frequency [cm$^{-1}$]")
axes[0, 0].legend(fontsize=7)
plt.tight_layout()
plt.show()
print("median MSE per quartile:", [f"{np.median(mse_each[m]):.4f}" for m in quartiles])

# %% [markdown]
# ## 4. Symmetry, shown: the same crystal in different cells
#
# A crystal can be described by its primitive cell, by the conventional (often larger)
# cell, or by any supercell; the cell can also be oriented any way in space. These are the
# same material, so the predicted DoS must be the same. Two design choices guarantee it:
# the graph sees only edge vectors (rotations rotate them, and the network's output is
# invariant), and the pooling is a *mean* over atoms (a supercell repeats each environment).
# We check it on test crystals: primitive and conventional standard cells (from spglib,
# via pymatgen), a sheared 4x supercell, and a rotated and inverted copy of that supercell.

# %%
n_check = pick(full=8, quick=3)
worst = 0.0
for n in test_idx[:n_check]:
    variants = cell_variants(records[n].atoms)
    variants["rotated supercell"] = transform_atoms(variants["supercell"], random_o3(dtype=torch.float64))
    preds = {name: predict_dos(model, [crystal_to_data(a, r_max)]) for name, a in variants.items()}
    diffs = {name: float(np.abs(p - preds["input"]).max()) for name, p in preds.items()}
    worst = max(worst, *diffs.values())
    sizes = ", ".join(f"{name} {len(a)}" for name, a in variants.items())
    print(f"{records[n].atoms.get_chemical_formula():12s} atoms: {sizes}; largest difference {max(diffs.values()):.1e}")
cell_invariance_error = worst

# %%
# NBVAL_CHECK_OUTPUT
print("all cells and orientations give the same DoS to 1e-5:", cell_invariance_error < 1e-5)

# %% [markdown]
# The differences are float32 round-off (the order of summation changes with the cell).

# %% [markdown]
# ## 5. Generalisation to elements the model has never seen
#
# Hold out **every** crystal that contains germanium, palladium or hafnium, train a fresh
# model on the rest, and compare its error on those crystals with its error on an ordinary
# test set. The element part of the embedding starts at zero and is only learned for
# elements the model sees, so an unseen element enters the network through its **mass**
# alone (and the geometry of its neighbourhood).

# %%
held_out = {chemical_symbols.index(s) for s in ("Ge", "Pd", "Hf")}
unseen_idx = np.array([k for k, s in enumerate(element_sets) if s & held_out])
rest = np.array([k for k, s in enumerate(element_sets) if not s & held_out])
tr, va, te = (rest[part] for part in element_stratified_split([element_sets[k] for k in rest], seed=1))
print(f"{len(unseen_idx)} crystals contain Ge, Pd or Hf; the other {len(rest)} split {len(tr)}/{len(va)}/{len(te)}")

torch.manual_seed(1)
model_gen = PhononDoSNet(**MODEL_HPARAMS, avg_num_neighbors=average_num_neighbors([graphs[k] for k in tr]))
history_gen = train(model_gen, dos_loss,
                    DataLoader([graphs[k] for k in tr[:pick(full=len(tr), quick=300)]], batch_size=16, shuffle=True),
                    DataLoader([graphs[k] for k in va], batch_size=64), epochs=pick(full=35, quick=6),
                    lr=TRAIN_HPARAMS["lr"], weight_decay=TRAIN_HPARAMS["weight_decay"], schedule="cosine",
                    max_seconds=pick(full=240.0, quick=40.0), seed=1)
print(history_gen.summary())

# %%
gen = {}
for name, idx in [("ordinary test set", te), ("crystals with Ge, Pd or Hf", unseen_idx)]:
    y, p = np.stack([records[k].dos for k in idx]), predict_dos(model_gen, [graphs[k] for k in idx])
    m = dos_metrics(y, p)
    cv_err = np.abs(heat_capacity(freq, y) - heat_capacity(freq, p)).mean()
    gen[name] = m | {"cv_mae": cv_err}
    print(f"{name:28s} ({len(idx):3d}): MSE {m['mse']:.4f} | R^2 global {m['r2_global']:.3f} | "
          f"R^2 per-bin {m['r2_per_bin']:.3f} | C_v MAE {cv_err:.4f} k_B/atom")
ratio = gen["crystals with Ge, Pd or Hf"]["mse"] / gen["ordinary test set"]["mse"]
print(f"MSE on unseen-element crystals / MSE on the ordinary test set: {ratio:.2f}")

# %% [markdown]
# Compare the two lines. A ratio near 1 would mean the model's skill carries over to new
# chemistry unchanged; the further above 1, the more it relied on having seen the element.
# Two things help it here: the other elements in those crystals (oxygen, alkali metals,
# chalcogens, ...) are well known to the model, and the mass sets the frequency scale. An
# element descriptor with more physics in it (electronegativity, radius, group and period)
# is the usual next step beyond a one-hot vector.

# %% [markdown]
# ## 6. Alloys: Mg$_3$(Sb$_{1-p}$Bi$_p$)$_2$
#
# Mg$_3$Sb$_2$ and Mg$_3$Bi$_2$ are thermoelectrics whose low lattice thermal conductivity is
# tied to their soft, low-frequency phonons. In the alloy Mg$_3$(Sb$_{1-p}$Bi$_p$)$_2$ the
# pnictogen sites are shared by Sb and Bi. With the weighted element encoding we give each of
# those sites the composition $\{\mathrm{Sb}: 1-p,\ \mathrm{Bi}: p\}$ (and the mean mass), keep
# the Mg$_3$Sb$_2$ structure (a virtual-crystal picture; the lattice does not expand here), and
# sweep $p$ from 0 to 1. Bismuth is much heavier than antimony, so the modes that involve
# the pnictogen should soften as $p$ grows.

# %%
mg3sb2 = by_id["mp-2646"].atoms
sb, bi = chemical_symbols.index("Sb"), chemical_symbols.index("Bi")
print("Bi is in the training set:", bi in set().union(*(element_sets[i] for i in train_subset)))
p_values = np.linspace(0.0, 1.0, 11)
alloy_graphs = [crystal_to_data(mg3sb2, r_max, site_species=[{sb: 1 - p, bi: p} if z == sb else {int(z): 1.0}
                                                            for z in mg3sb2.numbers]) for p in p_values]
alloy_dos = predict_dos(model, alloy_graphs)
alloy_nu = average_frequency(freq, alloy_dos)
print(f"mean frequency: p=0 {alloy_nu[0]:.1f} cm^-1 (DFPT for Mg3Sb2: "
      f"{average_frequency(freq, by_id['mp-2646'].dos)[0]:.1f}), p=1 {alloy_nu[-1]:.1f} cm^-1")

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
colors = plt.cm.viridis(p_values)
for p, d, c in zip(p_values, alloy_dos, colors):
    axes[0].plot(freq, d, color=c, label=f"p={p:.1f}" if p in (0.0, 0.5, 1.0) else None)
axes[0].fill_between(freq, by_id["mp-2646"].dos, color="lightgrey", label="DFPT Mg3Sb2", zorder=0)
axes[0].set_xlim(0, 500)
axes[0].set_xlabel("frequency [cm$^{-1}$]")
axes[0].set_ylabel("predicted DoS")
axes[0].legend()
axes[1].plot(p_values, alloy_nu, "o-")
axes[1].set_xlabel("Bi fraction p")
axes[1].set_ylabel(r"mean frequency $\bar\nu$ [cm$^{-1}$]")
plt.tight_layout()
plt.show()
print("mean frequency falls from p=0 to p=1:", bool(alloy_nu[-1] < alloy_nu[0]),
      "| steps that fall:", int((np.diff(alloy_nu) < 0).sum()), "of", len(p_values) - 1)

# %% [markdown]
# ## 7. The other route: a universal potential + phonopy
#
# Instead of predicting the DoS directly, one can compute it the textbook way, with forces
# from a **pretrained universal interatomic potential** instead of DFT: displace each atom in
# a supercell, get the force constants (the Hessian of the energy), diagonalise the dynamical
# matrix on a q-point mesh (phonopy), and histogram the frequencies. SevenNet-0 is such a
# potential, an e3nn-based NequIP-style network trained on the Materials Project relaxation
# trajectories; `SevenNetCalculator("7net-0")` loads its weights (the 11 July 2024 checkpoint)
# from inside the installed `sevenn` package, so nothing is downloaded. We bin the frequencies with a
# Gaussian of width 10 cm$^{-1}$ on the same 51 points and max-normalise, like the DFPT data.
#
# This route is optional here: it needs `pip install sevenn phonopy`. Without them the cells
# below say so and skip. We use the DFPT structures as given (no relaxation with the
# potential), on a few test crystals of at most 8 atoms to keep the cost down.

# %%
try:
    from sevenn.calculator import SevenNetCalculator
    from tutorial_utils.phonons import potential_phonon_dos

    with warnings.catch_warnings():
        # torch.load inside sevenn warns about its own checkpoint format; the file ships in the wheel
        warnings.simplefilter("ignore")
        calculator = SevenNetCalculator("7net-0", device="cpu")
    have_sevennet = True
except ImportError as exc:
    have_sevennet = False
    print(f"SevenNet or phonopy is not installed ({exc.name}); skipping section 7. "
          "Install both with: pip install sevenn phonopy")

# %%
sevennet = None
if have_sevennet:
    small = [n for n in test_idx if len(records[n].atoms) <= 8]
    chosen = np.sort(np.random.default_rng(0).choice(small, size=pick(full=8, quick=2), replace=False))
    dos_7net, seconds = [], []
    for n in chosen:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # phonopy notes on symmetry; not relevant here
            dos_7net.append(potential_phonon_dos(records[n].atoms, calculator, freq))
        seconds.append(time.perf_counter() - t0)
        print(f"{records[n].atoms.get_chemical_formula():10s} {len(records[n].atoms):2d} atoms: {seconds[-1]:.1f} s")
    y_sub = np.stack([records[n].dos for n in chosen])
    direct_sub = y_pred[[list(test_idx).index(n) for n in chosen]]
    sevennet = {"potential + phonopy": (np.stack(dos_7net), float(np.mean(seconds))),
                "direct (this notebook)": (direct_sub, direct_seconds_per_crystal)}
    for name, (d, s) in sevennet.items():
        m = dos_metrics(y_sub, d)
        cv_err = np.abs(heat_capacity(freq, y_sub) - heat_capacity(freq, d)).mean()
        sevennet[name] = (d, s, m, cv_err)
        print(f"{name:24s}: MSE {m['mse']:.4f} | R^2 global {m['r2_global']:.3f} | R^2 per-bin "
              f"{m['r2_per_bin']:.3f} | C_v MAE {cv_err:.4f} k_B/atom | {s:.3g} s per crystal")

# %%
if sevennet is not None:
    show = min(4, len(chosen))
    fig, axes = plt.subplots(1, show, figsize=(3.3 * show, 2.8), sharey=True, squeeze=False)
    for ax, k in zip(axes[0], range(show)):
        ax.fill_between(freq, y_sub[k], color="lightgrey", label="DFPT")
        ax.plot(freq, sevennet["potential + phonopy"][0][k], color="C0", label="SevenNet-0 + phonopy")
        ax.plot(freq, sevennet["direct (this notebook)"][0][k], color="C3", label="direct")
        ax.set_title(records[chosen[k]].atoms.get_chemical_formula(), fontsize=9)
        ax.set_xlabel("frequency [cm$^{-1}$]")
    axes[0, 0].legend(fontsize=7)
    plt.tight_layout()
    plt.show()

# %% [markdown]
# **When is each route the right tool?** Read the two lines above side by side.
# - *Direct prediction* costs milliseconds per crystal once trained, so it suits screening
#   many thousands of candidates for a DoS-derived property (heat capacity, vibrational
#   entropy, a soft-mode indicator). It only knows the DoS as it was computed and processed
#   in its training data (binning, normalisation), and it cannot give anything beyond the
#   DoS: no dispersion, no eigenvectors.
# - *Potential + phonopy* costs seconds per crystal (many force calls per supercell), but
#   returns the full harmonic phonon problem: band structure, eigenvectors, thermal
#   properties, and it works for structures and elements far from any phonon data set,
#   because the potential was trained on forces, not on DoS curves. Its errors come from
#   the potential (universal potentials are often reported to soften phonons somewhat) and
#   from using structures that were not relaxed with the potential.
# With only a handful of crystals compared here, the numbers are indicative, not a ranking.

# %% [markdown]
# ## Summary
#
# The numbers below are the ones this run computed above.

# %%
print(f"1. data: {len(records)} crystals, {len(elements)} elements, DoS on {len(freq)} points (0-1000 cm^-1)")
print(f"2. model: {sum(p.numel() for p in model.parameters())} parameters, l_max={MODEL_HPARAMS['l_max']}, "
      f"r_max={r_max} Å; trained {history.epochs} epochs in {train_seconds / 60:.1f} min")
print(f"3. test: MSE {metrics['mse']:.4f}, R^2 {metrics['r2_global']:.3f} (global mean) / "
      f"{metrics['r2_per_bin']:.3f} (per-bin means); C_v(300 K) MAE {cv_mae:.4f} k_B/atom; "
      f"mean-frequency MAE {nu_mae:.1f} cm^-1")
print(f"4. cell choice and O(3): largest difference {cell_invariance_error:.1e}")
print(f"5. unseen elements: MSE {gen['crystals with Ge, Pd or Hf']['mse']:.4f} vs "
      f"{gen['ordinary test set']['mse']:.4f} on an ordinary test set (ratio {ratio:.2f})")
print(f"6. Mg3(Sb1-pBi)2: mean frequency {alloy_nu[0]:.1f} -> {alloy_nu[-1]:.1f} cm^-1 from p=0 to p=1")
if sevennet is not None:
    for name, (_, s, m, cv_err) in sevennet.items():
        print(f"7. {name}: R^2 {m['r2_global']:.3f} (global) / {m['r2_per_bin']:.3f} (per-bin), "
              f"C_v MAE {cv_err:.4f} k_B/atom, {s:.3g} s per crystal ({len(chosen)} crystals)")

# %% [markdown]
# - A crystal becomes a periodic graph whose nodes carry an element (or composition) vector
#   and a mass; an e3nn network predicts a per-atom non-negative DoS, and the mean over atoms
#   is the crystal's DoS.
# - The test-set MSE and both $R^2$ values are printed above; the published numbers on this
#   data set (Kong et al., 2022: E3NN $R^2$ 0.56, MSE 0.034; Mat2Spec $R^2$ 0.63, MSE 0.029)
#   are compared in `benchmarks/phonon_dos.py` with the same definitions.
# - Heat capacity and mean frequency are integrals over the DoS, so bin-to-bin errors partly
#   average out; compare their MAE with the spread of true values printed in section 3.
# - Primitive, conventional, super and rotated cells give the same prediction to round-off.
# - Section 5 measures what is lost on elements never seen in training; the weighted encoding
#   turns the same model into a tool for alloys (section 6).
# - A universal potential plus phonopy is the slower, more general route.

# %% [markdown]
# ## Exercises
#
# **Exercise 1 (temperature).** The heat capacity error above is at 300 K. Compute the MAE of
# $C_v$ between predicted and true DoS at 50 K, 100 K and 1000 K. At which temperature does
# the DoS error matter most, and why? *Hint:* `heat_capacity(freq, dos, T=...)`; at high $T$
# every mode contributes $k_B$ whatever its frequency.

# %% tags=["solution"]
for T in (50.0, 100.0, 300.0, 1000.0):
    err = np.abs(heat_capacity(freq, y_test, T=T) - heat_capacity(freq, y_pred, T=T)).mean()
    print(f"T = {T:6.0f} K: C_v MAE {err:.4f} k_B/atom")

# %% [markdown]
# **Exercise 2 (sum or mean?).** Replace the mean over atoms by a sum: use `model.atom_dos(g)`
# (the per-atom DoS before pooling) for a crystal and for its 2x2x2 supercell, and compare
# the sums and the means. Which one is a property of the material, which one of the cell?
# Why does the max-normalisation at the end hide the difference? *Hint:*
# `crystal_to_data(atoms.repeat(2), r_max)`.

# %% tags=["solution"]
atoms = records[test_idx[0]].atoms
with torch.no_grad():
    small, big = (model.atom_dos(crystal_to_data(a, r_max)) for a in (atoms, atoms.repeat(2)))
print("sum:  supercell / cell =", f"{float(big.sum() / small.sum()):.3f}")
print("mean: largest difference =", f"{float((big.mean(0) - small.mean(0)).abs().max()):.1e}")

# %% [markdown]
# **Exercise 3 (another alloy).** Use the weighted encoding to sweep the cation of a rocksalt
# crystal from the data set, e.g. replace K by Rb in KCl, and plot the mean frequency against
# the fraction. Is the trend what the masses suggest? *Hint:* ASE writes formulas in Hill
# order (alphabetical when there is no carbon), so find KCl with
# `[r for r in records if r.atoms.get_chemical_formula() == "ClK"]`.

# %% tags=["solution"]
kcl = [r for r in records if r.atoms.get_chemical_formula() == "ClK"][0].atoms
k, rb = chemical_symbols.index("K"), chemical_symbols.index("Rb")
fractions = np.linspace(0, 1, 6)
sweep = [crystal_to_data(kcl, r_max, site_species=[{k: 1 - q, rb: q} if z == k else {int(z): 1.0} for z in kcl.numbers])
         for q in fractions]
for q, nu in zip(fractions, average_frequency(freq, predict_dos(model, sweep))):
    print(f"Rb fraction {q:.1f}: mean frequency {nu:.1f} cm^-1")

# %% [markdown]
# ## References
# 1. Z. Chen, N. Andrejevic, T. Smidt, Z. Ding, Q. Xu, Y.-T. Chi, Q. T. Nguyen, A. Alatas,
#    J. Kong, M. Li, "Direct prediction of phonon density of states with Euclidean neural
#    networks", Adv. Sci. 8, 2004214 (2021).
# 2. G. Petretto, S. Dwaraknath, H. P. C. Miranda, D. Winston, M. Giantomassi, M. J. van Setten,
#    X. Gonze, K. A. Persson, G. Hautier, G.-M. Rignanese, "High-throughput density-functional
#    perturbation theory phonons for inorganic materials", Sci. Data 5, 180065 (2018).
# 3. S. Kong, F. Ricci, D. Guevarra, J. B. Neaton, C. P. Gomes, J. M. Gregoire, "Density of
#    states prediction for materials discovery via contrastive learning from probabilistic
#    embeddings" (Mat2Spec), Nat. Commun. 13, 949 (2022).
# 4. Y. Park, J. Kim, S. Hwang, S. Han, "Scalable parallel algorithm for graph neural network
#    interatomic potentials in molecular dynamics simulations" (SevenNet), J. Chem. Theory
#    Comput. 20, 4857 (2024).
# 5. A. Togo, L. Chaput, T. Tadano, I. Tanaka, "Implementation strategies in phonopy and
#    phono3py", J. Phys.: Condens. Matter 35, 353001 (2023).
# 6. M. Geiger, T. Smidt, "e3nn: Euclidean neural networks", arXiv:2207.09453 (2022).
