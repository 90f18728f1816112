# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/e3nn-materials/e3nn-materials-tutorial/blob/v0.1.0/notebooks/05_electron_densities.ipynb)
#
# *On Colab, choose a GPU first: Runtime → Change runtime type → a GPU accelerator.
# The setup cell keeps Colab's own torch and installs only what is missing.*
#
# # 05. Predicting electron densities with e3nn
#
# **The talk behind this notebook** (MRS Fall Meeting 2021 e3nn tutorial, recorded): Tutorial 5, by Rackers, the fifth video of [the recorded playlist](https://www.youtube.com/watch?v=q9EwZsHY1sk&list=PLx3xbphkO3qIlBoESkbafXaDtr0tq5iRd).

# %% [markdown]
# ## What you will learn
# - why an electron density expanded in atom-centred Gaussians is an **equivariant target**: every
#   atom carries a vector of irreps, and which irreps depends on the element;
# - how to measure a density error properly, $\varepsilon_\rho = \int |\rho - \rho_\mathrm{ref}|\,
#   d\vec r / N_e$, and what the fitting basis alone costs;
# - to build and train an e3nn network whose per-atom output irreps depend on the element and that
#   conserves the electron count **by construction**, on water clusters of 3-12 molecules, to choose
#   its reference density and loss by a measured ablation, and to test it on held-out clusters of
#   3-10 molecules and of 15 and 20 molecules it never saw;
# - Rackers et al.'s experiment: does training on larger clusters make the model transfer better
#   to large ones?
# - to check the prediction's electron count and dipole moment against DFT, look at the
#   density in 3D, verify equivariance, and compare the cost of a prediction with the cost of DFT;
# - *(appendix, after the workshop)* how pyscf's real spherical harmonics map onto e3nn's, and
#   how the integration grid is built and checked.
#
# **Prerequisites:** notebook 02 (irreps, parity, spherical harmonics, `o3.Linear`) and notebook 04
# (the NequIP-style interaction block, reused here unchanged). Some quantum chemistry helps: a
# basis set, a density matrix, density fitting.
#
# **Run time** on 2 CPU cores: quick mode (`TUTORIAL_QUICK=1`) under 1 min, full mode
# about 8 min; most of it is training (section 4; `TRAIN = False` loads the shipped weights instead).
# Training has a wall-clock budget with the learning rate on a cosine over it, so on a GPU the same
# time trains more epochs (the training cell prints how many, and on which device).

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
import json
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from e3nn import o3

from tutorial_utils import cpu_threads, headline, is_quick, pick
from tutorial_utils.data import fetch
from tutorial_utils.density import (density_errors, density_from_matrix, density_on_points,
                                    electrons_and_dipole, integration_grid, load_clusters,
                                    load_density_matrices, load_free_atoms, promolecule_coefficients,
                                    pyscf_to_e3nn_matrix, rotate_coefficients)
from tutorial_utils.density_model import (DENSITY_HPARAMS, DENSITY_TRAIN, DensityModel, average_num_neighbors,
                                          clusters_to_data, held_out_errors, predict_coefficients,
                                          pretrained, split_training_pool, train_density_model)
from tutorial_utils.md import time_per_call
from tutorial_utils.notebook_cells import show_source
from tutorial_utils.plotting import density_isosurfaces, plot_history
from tutorial_utils.symmetry import assert_equivariant, default_dtype, random_o3

# Clusters are small graphs: on the CPU one thread avoids the overhead of splitting small
# operations; a GPU keeps torch's default.
cpu_threads(device, 1)

# %% [markdown]
# ## 1. Why densities, and why they are made of irreps
#
# Density-functional theory says that the ground-state electron density $\rho(\vec r)$ determines
# everything else: from one density follow the dipole moment (and every multipole), the
# electrostatic potential around a molecule, and, through a functional, the energy. Predicting
# $\rho$ directly, at a fraction of the cost of DFT, is therefore a route to properties of systems
# too large for DFT (Rackers et al., 2023; Grisafi et al., 2019).
#
# A density is a function in 3D, not a list of numbers. We make it one by **density fitting**:
# expand it in Gaussians centred on the atoms,
#
# $$\rho(\vec r) \approx \sum_{A} \sum_{n,l,m} c^{A}_{nlm}\, R_{nl}(|\vec r - \vec R_A|)\,
# Y_{lm}\Big(\frac{\vec r - \vec R_A}{|\vec r - \vec R_A|}\Big),$$
#
# with fixed radial functions $R_{nl}$ (from an auxiliary basis set; here def2-universal-jfit) and
# real spherical harmonics $Y_{lm}$. Rotate the molecule by $R$ and the density rotates with it;
# the same functions, centred on the rotated atoms, describe it if the coefficients of each
# $(n, l)$ shell transform as $c_{nl} \to D^{l}(R)\, c_{nl}$. So **the coefficients of one atom form
# an e3nn feature vector**, for example `6x0e+4x1o+3x2e+1x3o+1x4e` for oxygen: exactly the output an
# equivariant network produces. The twist: oxygen and hydrogen have different basis sets, so the
# network needs a different output per element.

# %% [markdown]
# ### The data set
#
# `data/water/generate.py` made it (one command; `data/README.md` documents it and its licence):
#
# 1. geometries: GFN2-xTB molecular dynamics (tblite) of a droplet of 24 water molecules at 300 K;
#    each cluster is the $n$ molecules nearest a randomly chosen molecule of a snapshot;
# 2. DFT: PBE0/def2-SVP with pyscf (density fitting for the Coulomb and exchange terms);
# 3. the converged density fitted onto def2-universal-jfit in the **Coulomb metric**,
#    $c = J^{-1} (P|\rho)$ with $J_{PQ} = (P|1/r_{12}|Q)$, and the coefficients converted to e3nn's
#    conventions.
#
# The training clusters (3-12 molecules: most of 3-7, the `train_medium` set of 10-12) come from one
# MD trajectory; the held-out `test` clusters (3-10) and the `large` clusters (15 and 20 molecules)
# from another. For the held-out clusters the file also holds the DFT density matrix, so we can
# compare with the DFT density itself. A last file holds the free O and H atoms (unrestricted DFT
# at the same level, fitted the same way): the reference the network starts from.

# %%
paths = {name: fetch(f"water_{name}") for name in ["train", "train_small", "train_medium", "test", "large"]}
train_pool, basis = load_clusters(paths["train"])
train_pool += load_clusters(paths["train_small"])[0] + load_clusters(paths["train_medium"])[0]
free_atoms = load_free_atoms(fetch("water_atoms"), basis)   # {Z: coefficients of the free atom}
test, _ = load_clusters(paths["test"])
large, _ = load_clusters(paths["large"])
dm_test, ao_basis = load_density_matrices(paths["test"])
dm_large, _ = load_density_matrices(paths["large"])
with np.load(paths["test"], allow_pickle=False) as f:
    meta = json.loads(str(f["metadata"]))
print("level of theory:", meta["level_of_theory"])
print("units:", meta["units"]["coefficients"])
for name, clusters in [("training pool", train_pool), ("test", test), ("large", large)]:
    sizes = np.array([c.n_molecules for c in clusters])
    print(f"{name:>13}: {len(clusters):3d} clusters of {sizes.min()}-{sizes.max()} molecules, "
          f"{sum(len(c.numbers) for c in clusters):5d} atoms")

# %% [markdown]
# The auxiliary basis of each element, as e3nn irreps: the number of coefficients per atom is the
# dimension of these representations.

# %%
# NBVAL_CHECK_OUTPUT
for z, name in [(8, "O"), (1, "H")]:
    irreps = basis.irreps(z)
    print(f"{name}: {irreps}  ->  {irreps.dim} coefficients per atom")
c0 = test[0]
print(f"a {c0.n_molecules}-molecule cluster: {len(c0.numbers)} atoms, {len(c0.coefficients)} coefficients")

# %% [markdown]
# ## 2. The target, checked: rotations, electrons, dipoles
#
# The generator converted pyscf's coefficients to e3nn's conventions (the appendix shows how and
# checks it). Three checks of the target itself follow.

# %% [markdown]
# **Rotations.** If the coefficients are in e3nn's conventions, rotating (or inverting) the cluster
# and transforming every atom's coefficients with its $D(R)$ must give the same density at the
# rotated points: $\rho'(R\vec r) = \rho(\vec r)$.

# %%
torch.manual_seed(0)
pos, numbers, c = c0.positions, c0.numbers, c0.coefficients
points = pos[torch.randint(len(pos), (500,))] + 0.7 * torch.randn(500, 3, dtype=torch.float64)
for _ in range(3):
    R = random_o3(dtype=torch.float64)
    rho = density_on_points(pos, numbers, c, basis, points)
    rho_rot = density_on_points(pos @ R.T, numbers, rotate_coefficients(c, numbers, basis, R), basis, points @ R.T)
    rel = float((rho_rot - rho).abs().max() / rho.abs().max())
    print(f"det R = {float(torch.det(R)):+.0f}: max |rho'(Rr) - rho(r)| / max rho = {rel:.1e}")

# %% [markdown]
# **Electrons and dipoles.** Integrals of Gaussians are analytic: only the $s$ functions carry charge
# and only $s$ and $p$ functions contribute to the dipole moment. A neutral cluster of $n$ water
# molecules has $10n$ electrons. The dipole of the fitted density, with the nuclei, can be compared
# with the dipole of the DFT density that pyscf computed.

# %%
rows = []
for c in test:
    n_el, dipole = electrons_and_dipole(c.positions, c.numbers, c.coefficients, basis)
    rows.append((c.n_molecules, float(n_el) - 10 * c.n_molecules, float((dipole - c.dipole).norm())))
rows = np.array(rows)
print(f"electrons of the fitted density - 10 n: {np.abs(rows[:, 1]).max():.1e} at most over {len(rows)} clusters")
print(f"|dipole(fit) - dipole(DFT)|: mean {rows[:, 2].mean():.4f} e Å, max {rows[:, 2].max():.4f} e Å "
      f"(the DFT dipoles are {np.mean([float(c.dipole.norm()) for c in test]):.2f} e Å on average)")

# %% [markdown]
# **The fitting floor.** To compare two densities we integrate $|\rho - \rho_\mathrm{ref}|$ over all
# space on an atom-centred grid (`integration_grid`; the appendix builds it and checks it). The
# **fitting floor** $\varepsilon_\rho(\rho_\mathrm{fit}, \rho_\mathrm{DFT})$ is the smallest error any
# model of the fitted coefficients can reach against DFT: the auxiliary basis cannot represent the
# DFT density exactly. The generator measured it for every cluster:

# %%
floor = np.array([c.eps_rho for c in train_pool + test + large])
print(f"fitting floor over all {len(floor)} clusters (pyscf grid): {100 * floor.mean():.2f} % on average, "
      f"{100 * floor.min():.2f}-{100 * floor.max():.2f} %")

# %% [markdown]
# ## 3. A network whose output irreps depend on the element
#
# We reuse notebook 04's interaction block unchanged: species embedding, tensor-product
# convolutions with spherical harmonics of the edge directions and radial-MLP weights,
# self-connection, gate. What changes is the **readout**: instead of one scalar energy per atom, one
# equivariant linear map **per element**, from the hidden features to that element's basis:
#
# $$c^{A} = \mathrm{shift}_{z_A} + \mathrm{scale}_{z_A} \odot W_{z_A}\, h_A,\qquad
# W_\mathrm{O}: \text{hidden} \to \texttt{6x0e+4x1o+3x2e+1x3o+1x4e},\quad
# W_\mathrm{H}: \text{hidden} \to \texttt{3x0e+1x1o+1x2e}.$$
#
# Two consequences of equivariance guide the design. The hidden features must contain every irrep
# of the output (an `o3.Linear` only maps an irrep to copies of itself), so they go up to $l = 4$.
# And the average of a $l > 0$ coefficient over orientations is zero, so the **shift** is non-zero
# only for the `0e` functions, while the **scale** is one number per irrep, shared by its $2l + 1$
# components. The shift is a reference density the network corrects. Two choices: the mean
# coefficients of each element in the training data (an "average atom in water"), or the `0e`
# coefficients of the **free atoms** (a *promolecule*, a sum of spherical atoms), so that the
# network learns what bonding and hydrogen bonds change, the choice of Rackers et al. (2023). An
# ablation in section 4 decides which one this notebook uses.
#
# **Charge, by construction.** A neutral cluster of $n$ waters has exactly $10n$ electrons, and
# only the `0e` functions carry charge: $N = \sum_A q_A \cdot c_A$ with $q_P = \int \phi_P$. After
# the heads, the forward pass makes the smallest change of the `0e` coefficients (in the
# Euclidean norm) that gives each cluster exactly its electron count,
#
# $$ c \leftarrow c + q\,\frac{N - q\cdot c}{q\cdot q}. $$
#
# It is linear in $c$ and acts on scalars only, so the model stays equivariant; it is part of the
# model, so training sees it.

# %%
show_source(DensityModel.forward)
show_source(DensityModel.charge_correction)

# %%
hp = dict(DENSITY_HPARAMS)
print(hp)
data_pool = clusters_to_data(train_pool, hp["r_max"])
model = DensityModel(basis, avg_num_neighbors=average_num_neighbors(data_pool),
                     conserve_charge=DENSITY_TRAIN["conserve_charge"], **hp)
print(f"{sum(p.numel() for p in model.parameters())} trainable parameters")
for z, head in model.heads.items():
    print(f"head of Z = {z}: {head}")

# %% [markdown]
# **Equivariance, before any training.** Rotate, invert and translate a cluster and the predicted
# coefficients must transform with $D(R)$ of each atom's irreps. `assert_equivariant` wraps
# `e3nn.util.test`; we run it in float64 so that any error above rounding would be a bug.

# %%
irreps_cluster = sum((basis.irreps(int(z)) for z in c0.numbers), o3.Irreps(""))
with default_dtype(torch.float64):
    model64 = DensityModel(basis, avg_num_neighbors=average_num_neighbors(data_pool), **hp).double()
    model64.fit_normalisation(data_pool[:20], reference=free_atoms)
    err = assert_equivariant(model64, clusters_to_data([c0], hp["r_max"], torch.float64)[0], irreps_cluster)
print(f"largest equivariance error over random O(3) elements and translations: {err:.1e}")

# %% [markdown]
# A cluster with an element the basis does not cover cannot be predicted: the model says so.

# %%
# NBVAL_CHECK_OUTPUT
carbon = clusters_to_data([c0], hp["r_max"])[0].clone()
carbon.z = carbon.z.clone()
carbon.z[0] = 6
try:
    model(carbon)
except ValueError as error:
    print("ValueError:", error)

# %% [markdown]
# ## 4. Training
#
# The training pool holds every training cluster of at most 12 molecules; 15 clusters of at most 7
# validate (they pick the best epoch); the test and large clusters are never used.
#
# **The loss.** The plain choice is the mean squared error of the coefficients. Every basis function
# has unit norm, so this would be the squared $L^2$ error of the density if the functions were
# orthogonal. They are not: functions of the same $l$ on one atom overlap strongly (printed below),
# so the MSE measures errors in the wrong metric. The alternative weighs them with the overlap
# matrix $S_A$ of each atom's functions, $\sum_A \Delta c_A^\top S_A\, \Delta c_A$: the part of
# $\int |\Delta\rho|^2$ that comes from functions on the same atom (the cross terms between atoms
# would need the overlap of every pair of atoms; they are left out). Section 5 measures the density
# error itself either way.

# %%
for z, name in [(8, "O"), (1, "H")]:
    S = basis.one_centre_overlap(z)
    print(f"{name}: largest overlap of two different functions on one atom: {np.abs(S - np.diag(np.diag(S))).max():.2f}")

# %% [markdown]
# The choices of reference, charge constraint and loss were made by an ablation with the same data,
# split and budget for every variant (`benchmarks/density_ablation.py`, 2 seeds), loaded here from
# its results file:

# %%
with open(fetch("water_density_ablation")) as f:
    ablation = json.load(f)
ours = {k: DENSITY_TRAIN[k] for k in ("conserve_charge", "reference", "metric")}   # this notebook's choice
first_run = next(iter(ablation.values()))
print("loaded from benchmarks/density_ablation.py's results (not computed in this run);"
      f" {first_run['epochs']} epochs per run, {first_run['train_clusters']} training clusters of at most 10 molecules"
      " (the pool the ablation was measured on, a subset of this notebook's):")
print("| variant | seeds | eps % test 3-10 | eps % large 20 | max |N_pred - N| e | dipole error e Å, large 20 |")
print("|---|---|---|---|---|---|")
for variant in dict.fromkeys(k.rsplit("/", 1)[0] for k in ablation):
    runs = [v for k, v in ablation.items() if k.rsplit("/", 1)[0] == variant]
    eps = {g: np.array([r["groups"][g]["eps_model_pct"] for r in runs]) for g in ("test 3-10", "large 20")}
    se = {g: e.std(ddof=1) / np.sqrt(len(e)) if len(e) > 1 else float("nan") for g, e in eps.items()}
    mark = " (this notebook)" if runs[0]["config"] == ours else ""
    print(f"| {variant}{mark} | {len(runs)} | {eps['test 3-10'].mean():.3f} ± {se['test 3-10']:.3f} | "
          f"{eps['large 20'].mean():.3f} ± {se['large 20']:.3f} | "
          f"{max(max(r['groups'][g]['max_abs_dN'] for g in r['groups']) for r in runs):.1e} | "
          f"{np.mean([r['groups']['large 20']['dipole_error'] for r in runs]):.3f} |")
print("this notebook's settings:", DENSITY_TRAIN)

# %% [markdown]
# Read the table with its error bars: the density errors of all variants agree within a few
# standard errors, so the reference and the loss barely change $\varepsilon_\rho$ at this budget.
# What separates them is the dipole of the largest clusters: the variants trained in the overlap
# metric have about half the dipole error of the others. The charge constraint makes the electron
# count exact and costs nothing in $\varepsilon_\rho$. This notebook uses the variant marked.

# %% [markdown]
# **Train or load.** Training takes most of this notebook's run time. With `TRAIN = False` the
# shipped weights are loaded instead (`tutorial_utils.density_model.pretrained()`, made by
# `data/water/train_density.py` with exactly these settings).

# %%
TRAIN = True  # False: load the shipped weights (trained in full mode) and skip training
train_clusters, valid_clusters = split_training_pool(train_pool, DENSITY_TRAIN["n_valid"],
                                                     DENSITY_TRAIN["max_molecules"])
if is_quick():
    train_clusters = train_clusters[::4]                           # quick mode: a quarter of the pool
    valid_clusters = valid_clusters[:8]
train_data, valid_data = clusters_to_data(train_clusters, hp["r_max"]), clusters_to_data(valid_clusters, hp["r_max"])
if TRAIN:
    model.fit_normalisation(train_data, reference=free_atoms if DENSITY_TRAIN["reference"] == "atoms" else None)
    budget_s = pick(full=DENSITY_TRAIN["max_seconds"], quick=15.0)  # wall-clock budget, cosine over it
    t0 = time.perf_counter()
    history = train_density_model(model, train_data, valid_data, epochs=100_000, lr=DENSITY_TRAIN["lr"],
                                  batch_size=DENSITY_TRAIN["batch_size"], metric=DENSITY_TRAIN["metric"], seed=0,
                                  schedule="cosine_time", max_seconds=budget_s, device=device)
    train_s = time.perf_counter() - t0
    print(f"{len(train_data)} training / {len(valid_data)} validation clusters, {history.epochs} epochs in "
          f"{train_s:.0f} s (budget {budget_s:.0f} s) on {device.type}; best epoch {history.best_epoch + 1}")
    print(f"validation RMSE of the coefficients: {history.valid_metrics['rmse'][history.best_epoch]:.2e} (a.u.)")
    plot_history(history)
    plt.show()
else:
    model = pretrained(device=device)   # tutorial_utils.density_model.pretrained: the state_dict, weights_only=True
    print("loaded the shipped weights")

# %% [markdown]
# The best epoch printed above lies in the last fifth of the run, so the validation error was
# still falling when the budget ran out: at this budget the model is not converged. What a longer
# budget buys is measured at the end of section 5, with the shipped weights (same settings, trained
# longer).
#
# ## 5. How good is the predicted density?
#
# For each held-out cluster, on its integration grid:
#
# - $\varepsilon_\rho^\mathrm{model} = \int |\rho_\mathrm{pred} - \rho_\mathrm{fit}| / N_e$, the model's
#   own error (what training can reduce);
# - $\varepsilon_\rho^\mathrm{total} = \int |\rho_\mathrm{pred} - \rho_\mathrm{DFT}| / N_e$, the error
#   against DFT, fitting floor included;
# - the same for the promolecule baseline (free spherical atoms), and the electron count and dipole of
#   the prediction against DFT.

# %%
n_eval_test = pick(full=len(test), quick=8)
eval_test = list(range(0, len(test), max(1, len(test) // n_eval_test)))[:n_eval_test]
eval_large = list(range(pick(full=len(large), quick=1)))
pred_test = predict_coefficients(model, clusters_to_data([test[k] for k in eval_test], hp["r_max"]), device=device)
pred_large = predict_coefficients(model, clusters_to_data([large[k] for k in eval_large], hp["r_max"]), device=device)
results = []
t0 = time.perf_counter()
for name, clusters, dms, idx, preds in [("test", test, dm_test, eval_test, pred_test),
                                         ("large", large, dm_large, eval_large, pred_large)]:
    for k, p in zip(idx, preds):
        c = clusters[k]
        promolecule = promolecule_coefficients(c.numbers, free_atoms, basis)   # free spherical atoms
        r = density_errors(c, {"model": p, "promolecule": promolecule}, basis, dms[k], ao_basis)
        results.append(dict(set=name, n=c.n_molecules, eps_model=r["eps_model"], eps_total=r["eps_model_dft"],
                            eps_floor=r["floor"], eps_promolecule=r["eps_promolecule_dft"],
                            d_electrons=r["n_model"] - r["n_electrons"],
                            d_dipole=float(np.linalg.norm(r["dipole_model"] - c.dipole.numpy()))))
print(f"{len(results)} clusters integrated in {time.perf_counter() - t0:.0f} s")


# %%
def summary(rows, key):
    return 100 * np.mean([r[key] for r in rows])


print("| set | clusters | eps model % | eps total % | fitting floor % | promolecule vs DFT % | "
      "max |N_pred - N| | dipole error e Å |")
print("|---|---|---|---|---|---|---|---|")
for name, sizes in [("test", range(3, 11)), ("large", [15]), ("large", [20])]:
    rows = [r for r in results if r["set"] == name and r["n"] in sizes]
    if rows:
        label = f"{name} ({min(sizes)}-{max(sizes)})" if len(sizes) > 1 else f"{name} ({sizes[0]})"
        print(f"| {label} | {len(rows)} | {summary(rows, 'eps_model'):.2f} | {summary(rows, 'eps_total'):.2f} | "
              f"{summary(rows, 'eps_floor'):.2f} | {summary(rows, 'eps_promolecule'):.2f} | "
              f"{max(abs(r['d_electrons']) for r in rows):.1e} | {np.mean([r['d_dipole'] for r in rows]):.3f} |")

# %%
fig, ax = plt.subplots(figsize=(6.5, 3.8))
n = np.array([r["n"] for r in results])
for key, label, marker in [("eps_promolecule", "promolecule (free spherical atoms)", "s"),
                           ("eps_total", "model vs DFT (total)", "o"),
                           ("eps_model", "model vs fitted density", "^"),
                           ("eps_floor", "fitting floor (fit vs DFT)", "x")]:
    ax.plot(n, [100 * r[key] for r in results], marker, label=label, alpha=0.8)
ax.axvspan(2.5, DENSITY_TRAIN["max_molecules"] + 0.5, color="grey", alpha=0.1, label="training sizes")
ax.set(xlabel="molecules in the cluster", ylabel="eps_rho [%]", yscale="log")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# Read the table from right to left. The promolecule baseline, a sum of spherical atoms, is off by
# far more than the model: the interesting part of the density (bonds, lone pairs, hydrogen bonds)
# is the small difference the network must learn. The model's own error is the part training can
# reduce; against DFT the fitting floor adds to it (errors of different sign partly cancel, so the
# total is less than the sum). The electron count is now exact by construction: its largest error
# is the `max |N_pred - N|` column. The 15- and 20-molecule clusters test **size transfer**: the
# network is local (each atom sees neighbours within $r_\max$ through a few layers), but a larger
# cluster is not only made of environments it has met: more of its molecules sit inside, with a
# full hydrogen-bond network, and small clusters have few of those. Whether its error grows with
# size, measured:

# %%
eps_by_group = {label: np.mean([r["eps_model"] for r in results if r["set"] == name and r["n"] in sizes])
                for label, name, sizes in [("3-10", "test", range(3, 11)), ("20", "large", [20])]
                if any(r["set"] == name and r["n"] in sizes for r in results)}
if "20" in eps_by_group:
    ratio = eps_by_group["20"] / eps_by_group["3-10"]
    verdict = "grows" if ratio > 1.1 else ("shrinks" if ratio < 0.9 else "stays within 10 %")
    print(f"eps_model at 20 molecules / at 3-10 molecules: {ratio:.2f}: the error {verdict} with size")
headline("model density error vs the fitted density, 3-10 waters", 100 * eps_by_group["3-10"], "%")

# %% [markdown]
# **The shipped weights.** The model above trained for this notebook's budget and was still
# improving. `pretrained()` returns the same network trained with the same settings for a longer
# budget by `data/water/train_density.py`; its report (settings, per-epoch losses, loaded from the
# repository) shows whether that run reached a plateau, and its errors are computed now on the
# same held-out clusters as above.

# %%
with open(fetch("water_density_model_info")) as f:
    shipped_info = json.load(f)                        # written by data/water/train_density.py
shipped_curves = shipped_info["curves"]
print(f"shipped weights (loaded): {shipped_info['train_seconds']:.0f} s of training on "
      f"{shipped_info['threads']} thread(s), {shipped_info['epochs']} epochs, {shipped_info['steps']} steps, "
      f"best epoch {shipped_info['best_epoch']}, {shipped_info['n_train']} training clusters")
last_fifth = int(0.8 * shipped_info["epochs"])
shipped_valid = np.array(shipped_curves["valid_loss"])
change = shipped_valid[last_fifth:].min() / shipped_valid[:last_fifth].min() - 1
print(f"validation loss: the best of the last fifth of the epochs is {100 * abs(change):.1f} % "
      + ("above" if change > 0 else "below") + " the best before it"
      + (" (still improving)" if shipped_info["best_epoch"] > last_fifth else " (a plateau)"))
fig, ax = plt.subplots(figsize=(6.0, 3.4))
ax.semilogy(np.array(shipped_curves["seconds"]) / 60, shipped_curves["train_loss"], label="training")
ax.semilogy(np.array(shipped_curves["seconds"]) / 60, shipped_valid, label="validation")
ax.set(xlabel="training time [min]", ylabel="loss (overlap metric)", title="shipped weights: training run")
ax.legend()
plt.tight_layout()
plt.show()

shipped = pretrained(device=device)   # tutorial_utils.density_model.pretrained: the state_dict, weights_only=True
shipped_rows = held_out_errors(shipped, [test[k] for k in eval_test] + [large[k] for k in eval_large], basis,
                               device=device)
print("shipped weights, computed now, beside this notebook's own run (section 5's table):")
print("| set | clusters | eps model % shipped | eps model % this run | max |N_pred - N| e shipped | "
      "dipole error e Å shipped | dipole error e Å this run |")
print("|---|---|---|---|---|---|---|")
shipped_eps = {}
for label, sizes in [("test (3-10)", range(3, 11)), ("large (15)", [15]), ("large (20)", [20])]:
    rows = [r for r in shipped_rows if r["n_molecules"] in sizes]
    now = [r for r in results if r["n"] in sizes]          # the same clusters, this run's model
    if rows:
        shipped_eps[label] = 100 * np.mean([r["eps_model"] for r in rows])
        print(f"| {label} | {len(rows)} | {shipped_eps[label]:.2f} | {summary(now, 'eps_model'):.2f} | "
              f"{max(abs(r['d_electrons']) for r in rows):.1e} | {np.mean([r['d_dipole'] for r in rows]):.3f} | "
              f"{np.mean([r['d_dipole'] for r in now]):.3f} |")
        print(f"    {label}: the shipped weights' density error is "
              + ("lower" if shipped_eps[label] < summary(now, "eps_model") else "not lower") + " than this run's")
if is_quick():
    print("quick mode: a subset of the held-out clusters; the goals below refer to all of them")
for label, goal in [("test (3-10)", 0.45), ("large (20)", 0.5)]:
    if label in shipped_eps:
        print(f"{label}: eps {shipped_eps[label]:.2f} % against the goal of <= {goal} %: "
              + ("met" if shipped_eps[label] <= goal else "missed"))

# %% [markdown]
# Read the lines under the table (in full mode; a quick run trains too briefly to compare). The
# longer run is more accurate on the held-out clusters of 3-10 molecules, the sizes it trained and
# validated on, but not on the 20-molecule clusters, and its dipole error there is larger. Training
# longer fits the small clusters better without teaching the model what a large cluster holds, and
# the validation clusters (at most 7 molecules) that chose its best epoch cannot see that. The
# large set has only 2 clusters per size, so these are indications, not a measurement with error
# bars; section 6 asks the systematic question: do larger training clusters help?

# %% [markdown]
# ## 6. Does training on larger clusters help? Rackers' experiment
#
# Rackers et al. (2023) trained on clusters of up to 12 molecules and stayed accurate on clusters of
# 50 and more. Their question, asked of our data: train the same network, with the same settings,
# once on the clusters of at most 7 molecules and once on those of at most 12 (which adds the
# `train_medium` set), validate both on the same small clusters, and measure the density error per
# cluster size on the same held-out clusters. Each training takes minutes, so the two runs were
# made by `benchmarks/density_ablation.py --study size` (2 seeds each) and are loaded here; the model
# of this notebook (trained above on at most 12 molecules, seed 0) is drawn beside them.

# %%
with open(fetch("water_density_size")) as f:
    size_study = json.load(f)
print("loaded from benchmarks/density_ablation.py --study size (not computed in this run):")
fig, ax = plt.subplots(figsize=(6.5, 3.8))
curves, errors_se = {}, {}   # per training range: mean eps % per held-out size, its standard error over seeds
for label in dict.fromkeys(k.rsplit("/", 1)[0] for k in size_study if size_study[k]["config"] == ours):
    runs = [v for k, v in size_study.items() if k.rsplit("/", 1)[0] == label]
    sizes_run = sorted(int(n) for n in runs[0]["eps_model_pct_by_size"])
    eps = np.array([[r["eps_model_pct_by_size"][str(n)] for n in sizes_run] for r in runs])
    curves[label] = dict(zip(sizes_run, eps.mean(0)))
    errors_se[label] = dict(zip(sizes_run, eps.std(0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1
                                else np.full(len(sizes_run), np.nan)))
    ax.errorbar(sizes_run, eps.mean(0), yerr=eps.std(0, ddof=1) / np.sqrt(len(runs)) if len(runs) > 1 else None,
                marker="o", capsize=3, label=f"{label} ({len(runs)} seeds, {runs[0]['train_clusters']} clusters)")
    print(f"{label}: {len(runs)} seeds, {runs[0]['train_clusters']} training clusters;"
          f" eps % at 3 / 10 / 15 / 20 molecules: "
          + " / ".join(f"{curves[label].get(n, float('nan')):.3f}" for n in (3, 10, 15, 20)))
this_run = {n: 100 * np.mean([r["eps_model"] for r in results if r["n"] == n]) for n in sorted({r["n"] for r in results})}
ax.plot(list(this_run), list(this_run.values()), "k^",
        label="this notebook's model (computed now" + (", quick mode: not comparable)" if is_quick() else ")"))
ax.set(xlabel="molecules in the held-out cluster", ylabel="eps_rho vs fitted density [%]")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
small = next((label for label in curves if label.endswith("<= 7")), None)
big = next((label for label in curves if label.endswith("<= 12")), None)
if small and big:
    common = sorted(set(curves[small]) & set(curves[big]))
    lower = [n for n in common if curves[big][n] < curves[small][n]]
    print(f"training on at most 12 molecules gives a lower error than at most 7 at {len(lower)} of {len(common)}"
          f" held-out sizes")
    for n in (10, 20):
        gap, se = curves[small][n] - curves[big][n], np.hypot(errors_se[small][n], errors_se[big][n])
        print(f"at {n} molecules: {100 * gap / curves[small][n]:.0f} % lower, a difference of {gap:.3f} % points"
              f" = {gap / se:.1f} standard errors of the seed means")

# %% [markdown]
# The lines printed above say what the plot shows: the model trained with the `train_medium`
# clusters has a lower mean error at every held-out size, the largest ones included, but only by a
# few per cent, about one standard error of the two seeds (the bars). The direction is consistent,
# yet with 2 seeds it is an indication, not a resolved difference (the sizes are not independent
# tests: each seed's model is evaluated at all of them). Both errors still grow with size: clusters
# of 12 molecules do not yet teach the model everything a 20-molecule cluster holds, and the extra
# clusters of 8-12 molecules (the difference of the two training-cluster counts printed) are few
# beside the small ones.

# %% [markdown]
# ## 7. Looking at the density
#
# Isosurfaces of the DFT density, the predicted density and their difference for one held-out
# cluster (drag to rotate). The difference is shown at a level far below the density's: red where
# the model puts too much charge, blue where too little.

# %%
k = eval_test[min(3, len(eval_test) - 1)]
c = test[k]
p = pred_test[eval_test.index(k)]
fig = density_isosurfaces(c.positions, c.numbers,
                          dft=lambda x: density_from_matrix(c.positions, c.numbers, dm_test[k], ao_basis, x),
                          predicted=lambda x: density_on_points(c.positions, c.numbers, p, basis, x),
                          level=0.05, n=pick(full=30, quick=20))
fig.show()

# %% [markdown]
# ## 8. Equivariance of the trained model
#
# The check of section 3 used an untrained network. After training, rotate (and invert) a held-out
# cluster, predict, and compare with the rotated prediction: the coefficients with $D(R)$ of each
# atom, and the densities at rotated points.

# %%
torch.manual_seed(1)
c = large[eval_large[0]]
d = clusters_to_data([c], hp["r_max"])[0]
p = predict_coefficients(model, [d], device=device)[0]
points = c.positions[torch.randint(len(c.positions), (1000,))] + 0.7 * torch.randn(1000, 3, dtype=torch.float64)
for _ in range(3):
    R = random_o3(dtype=torch.float64)
    d_rot = d.clone()
    d_rot.pos = d.pos @ R.float().T
    p_rot = predict_coefficients(model, [d_rot], device=device)[0]
    coef_err = float((p_rot - rotate_coefficients(p, c.numbers, basis, R)).abs().max() / p.abs().max())
    rho = density_on_points(c.positions, c.numbers, p, basis, points)
    rho_rot = density_on_points(c.positions @ R.T, c.numbers, p_rot, basis, points @ R.T)
    rho_err = float((rho_rot - rho).abs().max() / rho.abs().max())
    print(f"det R = {float(torch.det(R)):+.0f}: coefficients {coef_err:.1e}, density {rho_err:.1e} "
          f"(relative, float32 model)")

# %% [markdown]
# ## 9. Cost: a prediction against DFT
#
# The generator recorded the CPU time of every DFT calculation (one thread). We time the model's
# prediction the same way (CPU time, one thread) for one cluster of each size, and fit the growth
# $t \propto n^{k}$ on log-log axes.

# %%
dft_cpu, sizes = [], []
for name in ["train", "train_small", "test", "large"]:
    with np.load(paths[name], allow_pickle=False) as f:
        dft_cpu.append(f["dft_cpu_s"])
        sizes.append(f["n_molecules"])
dft_cpu, sizes = np.concatenate(dft_cpu), np.concatenate(sizes)
by_size = {}
for c in test + large:
    by_size.setdefault(c.n_molecules, c)
model_cpu = {}
for n_mol, c in sorted(by_size.items()):
    d = clusters_to_data([c], hp["r_max"])[0]
    model_cpu[n_mol] = time_per_call(lambda d=d: predict_coefficients(model, [d], device=device), calls=pick(full=10, quick=3),
                                     warmup=1, clock=time.process_time)
ns = np.array(sorted(model_cpu))
t_model = np.array([model_cpu[n] for n in ns])
t_dft = np.array([dft_cpu[sizes == n].mean() for n in ns])
k_dft = np.polyfit(np.log(ns), np.log(t_dft), 1)[0]
k_model = np.polyfit(np.log(ns), np.log(t_model), 1)[0]
print("| molecules | DFT CPU s | model CPU s | DFT / model |")
print("|---|---|---|---|")
for n_mol, a, b in zip(ns, t_dft, t_model):
    print(f"| {n_mol} | {a:.1f} | {b:.4f} | {a / b:.0f} |")
print(f"growth exponent k (t ~ n^k): DFT {k_dft:.1f}, model {k_model:.1f}")
fig, ax = plt.subplots(figsize=(5.5, 3.6))
ax.loglog(ns, t_dft, "o-", label=f"DFT PBE0/def2-SVP (k = {k_dft:.1f})")
ax.loglog(ns, t_model, "s-", label=f"e3nn model (k = {k_model:.1f})")
ax.set(xlabel="molecules in the cluster", ylabel="CPU seconds (1 thread)")
ax.legend()
plt.tight_layout()
plt.show()

# %% [markdown]
# The model's cost grows with the number of atoms (each atom has a bounded number of neighbours),
# DFT's much faster: compare the two exponents. The ratio in the last column grows with the cluster
# size, which is the point of the approach: train on clusters DFT can afford, predict clusters it
# cannot. Two caveats: the DFT time also bought an energy, and for the smallest clusters a good
# part of the model's time is fixed overhead of the Python and e3nn calls.

# %% [markdown]
# ## Summary
#
# - An electron density expanded in atom-centred Gaussians is a set of irreps per atom; in e3nn's
#   conventions the coefficients rotate exactly with $D(R)$: the densities at rotated points agree
#   to rounding (section 2; the appendix shows the conversion from pyscf).
# - The fitting floor of def2-universal-jfit against the DFT density is the $\varepsilon_\rho$ printed
#   in section 2.
# - One e3nn network with a linear head per element predicts 49 coefficients per O and 11 per H, as
#   a correction to a reference density, with the electron count fixed by construction; the
#   reference and the loss come from the ablation table of section 4. Its accuracy on
#   held-out clusters of 3-10 molecules and on 15- and 20-molecule clusters, its electron count and
#   its dipole error are in the table of section 5, next to the promolecule and the fitting floor.
# - Training on larger clusters (at most 12 against at most 7 molecules, section 6): the error per
#   held-out size of both, from the study's file, and this run's model beside them.
# - The trained model stays equivariant (section 8), and predicting a density costs a tiny fraction
#   of the DFT it replaces, with a much slower growth with size (section 9).

# %% [markdown]
# ## Exercises
#
# **1. Which functions carry the charge and the dipole?** Zero all $l \ge 1$ coefficients of the
# prediction for a held-out cluster. What happens to the electron count, to the dipole, and to
# $\varepsilon_\rho$ against the fitted density? Explain with the analytic integrals of section 2.

# %% hint="# Walk through each atom's irreps (basis.irreps(z)); set the l > 0 blocks to 0, then use\n# electrons_and_dipole and density_errors on the modified coefficients." tags=["solution"]
k = eval_test[-1]
c, p = test[k], pred_test[-1]
only_s = p.clone()
start = 0
for z in c.numbers:
    for mul, ir in basis.irreps(int(z)):
        if ir.l > 0:
            only_s[start:start + mul * ir.dim] = 0
        start += mul * ir.dim
r = density_errors(c, {"prediction": p, "s functions only": only_s}, basis)
for label in ["prediction", "s functions only"]:
    dipole_error = np.linalg.norm(r[f"dipole_{label}"] - c.dipole.numpy())
    print(f"{label:>17}: N = {r[f'n_{label}']:.3f}, |dipole - DFT| = {dipole_error:.3f} e Å, "
          f"eps vs fit = {100 * r[f'eps_{label}']:.2f} %")
print("N is unchanged (only s functions integrate to charge); the dipole changes (p functions carry the")
print("atoms' own dipoles) and the density error grows: the l >= 1 functions shape bonds and lone pairs.")

# %% [markdown]
# **2. Translations and permutations.** The model sees only relative positions and treats atoms
# of one element alike. Check that translating a cluster by 5 Å leaves the coefficients unchanged,
# and that swapping two water molecules (both their O and H atoms) permutes the coefficient
# blocks.

# %% hint="# Shift d.pos and predict again; for the swap, reorder positions and numbers with a\n# permutation of atoms and compare with the blocks basis.split(p, numbers) reordered the same way." tags=["solution"]
c = test[eval_test[-1]]
d = clusters_to_data([c], hp["r_max"])[0]
p = predict_coefficients(model, [d], device=device)[0]
moved = d.clone()
moved.pos = d.pos + torch.tensor([5.0, -5.0, 5.0])
print(f"translation: max |change| = {float((predict_coefficients(model, [moved], device=device)[0] - p).abs().max()):.1e}")
perm = torch.cat([torch.arange(3, 6), torch.arange(0, 3), torch.arange(6, len(c.numbers))])  # swap molecules 0, 1
swapped = clusters_to_data([type(c)(c.positions[perm], c.numbers[perm.numpy()], c.coefficients, c.energy,
                                    c.dipole, c.eps_rho, c.n_molecules)], hp["r_max"])[0]
p_swapped = predict_coefficients(model, [swapped], device=device)[0]
blocks = basis.split(p, c.numbers)
expected = torch.cat([blocks[int(i)] for i in perm])
print(f"permutation: max |difference| = {float((p_swapped - expected).abs().max()):.1e}")

# %% [markdown]
# ## Appendix (after the workshop): conventions and the integration grid
#
# Two pieces of machinery the main story relies on, shown and checked here.

# %% [markdown]
# ### A.1 pyscf to e3nn
#
# pyscf (libcint) and e3nn both use real spherical harmonics, but not the same
# ones. For $l = 1$ both order the functions $(x, y, z)$. For $l \ge 2$ pyscf uses $z$ as the polar
# axis and e3nn uses $y$: e3nn's $Y^l(\vec r)$ equals pyscf's $Y^l$ at the cyclically permuted point
# $(z, x, y)$. So each shell's coefficients are converted by the orthogonal matrix $D^l(P)$ of that
# permutation, a *mixing* of the $2l + 1$ functions, not a reordering. The data generator applied it;
# `tests/test_density.py` checks it against pyscf for every $l \le 6$.

# %%
# NBVAL_CHECK_OUTPUT
for l in range(5):
    Q = pyscf_to_e3nn_matrix(l)
    is_permutation = bool(np.all(np.isclose(np.abs(Q), 0) | np.isclose(np.abs(Q), 1)))
    print(f"l = {l}: orthogonal {np.allclose(Q @ Q.T, np.eye(2 * l + 1))}, a permutation: {is_permutation}")

# %% [markdown]
# ### A.2 An integration grid, and the fitting floor on it
#
# To compare two densities we integrate
# $|\rho - \rho_\mathrm{ref}|$ over all space. Densities are sharply peaked at the nuclei, so a cubic
# grid will not do; `integration_grid` builds the standard molecular quadrature instead: around
# each atom a radial grid (Becke's mapping of Gauss-Chebyshev points) times an angular product
# grid, with Becke's fuzzy-cell weights joining the atoms. Two checks: the integral of the fitted
# density must equal its analytic electron count, and the **fitting floor**
# $\varepsilon_\rho(\rho_\mathrm{fit}, \rho_\mathrm{DFT})$ on our grid must agree with the value the
# generator measured on pyscf's own DFT grid. The floor is the smallest error any model of the
# fitted coefficients can reach against DFT: the auxiliary basis cannot represent the DFT density
# exactly.

# %%
pts, w = integration_grid(c0.positions, c0.numbers)
rho_fit = density_on_points(c0.positions, c0.numbers, c0.coefficients, basis, pts)
rho_dft = density_from_matrix(c0.positions, c0.numbers, dm_test[0], ao_basis, pts)
n_analytic = float(electrons_and_dipole(c0.positions, c0.numbers, c0.coefficients, basis)[0])
print(f"{len(pts)} grid points for {len(c0.numbers)} atoms")
print(f"int rho_fit on the grid: {float(w @ rho_fit):.6f}, analytic: {n_analytic:.6f}, "
      f"relative difference {abs(float(w @ rho_fit) - n_analytic) / n_analytic:.1e}")
print(f"int rho_DFT on the grid: {float(w @ rho_dft):.5f} (10 n = {10 * c0.n_molecules})")
floor_ours = float(w @ (rho_fit - rho_dft).abs()) / (10 * c0.n_molecules)
print(f"fitting floor: {100 * floor_ours:.3f} % on our grid, {100 * c0.eps_rho:.3f} % on pyscf's DFT grid")

# %% [markdown]
# ## References
# - J. A. Rackers, L. Tecot, M. Geiger, T. E. Smidt, *A recipe for cracking the quantum scaling
#   limit with machine learned electron densities*, Mach. Learn.: Sci. Technol. 4, 015027 (2023).
# - A. Grisafi et al., *Transferable machine-learning model of the electron density*, ACS Cent.
#   Sci. 5, 57 (2019).
# - F. Weigend, *Accurate Coulomb-fitting basis sets for H to Rn*, Phys. Chem. Chem. Phys. 8, 1057
#   (2006) (def2-universal-jfit).
# - A. D. Becke, *A multicenter numerical integration scheme for polyatomic molecules*, J. Chem.
#   Phys. 88, 2547 (1988).
# - Q. Sun et al., *Recent developments in the PySCF program package*, J. Chem. Phys. 153, 024109
#   (2020).
# - M. Geiger and T. Smidt, *e3nn: Euclidean neural networks*, arXiv:2207.09453 (2022).
