# %% [markdown]
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/e3nn-materials/e3nn-materials-tutorial/blob/v0.1.0/notebooks/01_symmetry_intro.ipynb)
#
# *On Colab, choose a GPU first: Runtime → Change runtime type → a GPU accelerator.
# The setup cell keeps Colab's own torch and installs only what is missing.*
#
# # 01. Euclidean symmetry in machine learning: why symmetry-aware models
#
# **The talk behind this notebook** (MRS Fall Meeting 2021 e3nn tutorial, recorded): Tutorial 1, by Smidt: [video](https://youtu.be/q9EwZsHY1sk), [slides](https://docs.google.com/presentation/d/1y-fCZihLoSBgAqNYKZY1-jy8qpvqagqPTsX-jR0uTm8/edit?usp=sharing); all six talks: [the recorded playlist](https://www.youtube.com/watch?v=q9EwZsHY1sk&list=PLx3xbphkO3qIlBoESkbafXaDtr0tq5iRd).

# %% [markdown]
# ## What you will learn
# - see that atomic coordinates depend on the observer's frame, and that a plain neural
#   network therefore gives different answers for the same molecule;
# - name the three ways to make a model respect symmetry: data augmentation, invariant
#   inputs, equivariant layers, and measure what each costs and what each misses;
# - run the 3D Tetris experiment: train on one orientation per shape, test on thousands of
#   rotated, shifted and mirrored copies;
# - measure a model's equivariance error yourself (in float64 and float32), against the
#   representation the task really has (a mirror swaps the two chiral classes);
# - use Curie's principle to predict when a symmetric input *forces* an output to vanish, from
#   the point group of the input; and Neumann's principle, the same idea for crystal properties;
# - see that an equivariant model cannot lower the symmetry of its input, and let gradient
#   descent find the symmetry-breaking order parameter that a task needs.
#
# **Prerequisites:** basic Python and NumPy; no machine learning or group theory is assumed
# (notebook 02 gives the theory behind what you see here).
#
# **Run time** on 2 CPU cores: quick mode (`TUTORIAL_QUICK=1`) under 1 min,
# full mode 1-1.5 min. On a GPU runtime the training loops run on the GPU; their lengths are set
# in steps, so a GPU changes how long they take, not how far they train.

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
import copy

import matplotlib.pyplot as plt
import numpy as np
import plotly.graph_objects as go
import torch
from ase.build import molecule
from e3nn import o3

from tutorial_utils import cpu_threads, headline, pick
from tutorial_utils.notebook_cells import show_source
from tutorial_utils.plotting import view_structure
from tutorial_utils.symmetry import default_dtype, point_group_of_points, random_rotation, transform_atoms
from tutorial_utils.tensors import POINT_GROUPS, group_projector, point_group
from tutorial_utils.lessons import symmetry_breaking, tetris
from tutorial_utils.lessons.tetris import DistanceMLP, EquivariantTetris, PlainMLP, accuracy

# Every model in this notebook is tiny: on the CPU one thread avoids the cost of splitting
# small operations between threads (the fastest choice on a 2-core machine); a GPU keeps
# torch's default. Training runs on `device` (a GPU when there is one); the models come back
# to the CPU for the checks.
cpu_threads(device, 1)

# %% [markdown]
# ## 1. Coordinates depend on the observer
#
# A model that predicts a property $y$ (an energy, a band gap, a dipole) from atomic positions
# $x_1, \dots, x_N$ sees numbers written in *some* coordinate frame. Another observer, rotated
# by $Q$ and shifted by $t$, writes the same molecule as
#
# $$ x_i' = Q\,x_i + t, \qquad Q^\top Q = 1 . $$
#
# The molecule, and so its energy, has not changed: $E(x') = E(x)$. Let us take benzene,
# write it in two frames, and feed both to a plain neural network (flattened coordinates in,
# one number out; its weights are random, any weights make the point).

# %%
benzene = molecule("C6H6")                    # positions in Å, centred at the origin
angles_zyz = torch.tensor([0.7, 1.1, -0.4], dtype=torch.float64)  # Euler angles (rad)
Q = o3.angles_to_matrix(*angles_zyz)          # a rotation matrix, orthogonal to 1e-16
t = np.array([7.0, 0.0, 1.0])                 # a shift in Å
benzene_b = transform_atoms(benzene, Q, t)    # the same molecule, seen from frame B

print("carbon 0 in frame A (Å):", benzene.positions[0].round(3))
print("carbon 0 in frame B (Å):", benzene_b.positions[0].round(3))

torch.manual_seed(0)
plain_net = torch.nn.Sequential(torch.nn.Linear(3 * len(benzene), 32), torch.nn.SiLU(),
                                torch.nn.Linear(32, 1)).double()


def predict(atoms) -> float:
    """'Energy' of a plain network on the flattened raw coordinates (36 numbers)."""
    return plain_net(torch.tensor(atoms.positions).flatten()).item()


print(f"plain network, frame A: {predict(benzene):+.4f}")
print(f"plain network, frame B: {predict(benzene_b):+.4f}")


# %% [markdown]
# The numerical check: the coordinates differ, the predictions differ, yet every interatomic
# distance is the same in both frames (the molecule did not change).

# %%
# NBVAL_CHECK_OUTPUT
def sorted_distances(atoms) -> np.ndarray:
    """All N(N-1)/2 interatomic distances in Å, sorted."""
    return np.sort(atoms.get_all_distances()[np.triu_indices(len(atoms), k=1)])


print("raw coordinates differ:", not np.allclose(benzene.positions, benzene_b.positions, atol=1e-3))
print("plain-network predictions differ by more than 1e-3:", abs(predict(benzene) - predict(benzene_b)) > 1e-3)
print("all distances agree to 1e-10 Å:",
      np.abs(sorted_distances(benzene) - sorted_distances(benzene_b)).max() < 1e-10)

# %%
fig = view_structure(benzene, title="benzene in frame A (left) and frame B (right)")
for trace in view_structure(benzene_b).data:
    fig.add_trace(trace)
fig.show()

# %% [markdown]
# ## 2. Three ways to make a model respect symmetry
#
# Write $g = (Q, t)$ for a rotation or mirror $Q \in O(3)$ followed by a shift $t$. A model
# $f$ can be made to respect $g$ in three ways:
#
# | route | what it does | what it costs / misses |
# |---|---|---|
# | **data augmentation** | train a plain model on many moved copies | data, compute; only approximate |
# | **invariant model** | use only distances, angles | exact $f(gx) = f(x)$; vectors only as gradients (forces $= -\partial E / \partial x$); distances and angles lose handedness |
# | **equivariant model** | layers obey $f(gx) = D(g)\,f(x)$ | exact; scalars, pseudoscalars, vectors, tensors out |
#
# Here $D(g)$ is a matrix that says how the output transforms: $D = 1$ for a scalar such as
# the energy (invariance is the special case), $D = \det Q = \pm 1$ for a **pseudoscalar**
# (a number that flips sign in a mirror, like handedness), $D = Q$ for a vector such as a force
# or a dipole. The rest of the notebook measures each route on one toy problem.
#
# The invariant row needs care. Its features are unchanged by rotations *and* mirrors (they are
# O(3)-invariant), so a vector can only come out as a derivative: an invariant energy gives
# equivariant forces $F = -\partial E / \partial x$, which is how invariant potentials work.
# Handedness is lost only because distances and angles are mirror-blind: a *signed* dihedral
# angle is unchanged by rotations but flips sign in a mirror (it is SO(3)- but not
# O(3)-invariant), and a model fed with it can tell left from right.

# %% [markdown]
# ## 3. A five-minute primer: what the models below are made of
#
# No machine learning is assumed. Five words carry the rest of the notebook:
#
# - a **layer** maps a list of numbers $x$ to $W x + b$; the matrix $W$ and the vector $b$ are its
#   trainable **parameters** (weights);
# - a **nonlinearity** $\sigma$ acts on each number between layers (here SiLU,
#   $\sigma(u) = u / (1 + e^{-u})$); without it a stack of layers collapses into one matrix;
# - a classifier for 8 classes ends in 8 numbers, the **logits** $z_c$, and **softmax** turns them
#   into probabilities $p_c = e^{z_c} / \sum_{c'} e^{z_{c'}}$;
# - the **loss** measures how wrong the model is; for classes the cross-entropy $-\log p_{\text{true}}$;
# - **gradient descent** moves every parameter a little against the derivative of the loss,
#   $\theta \leftarrow \theta - \eta\, \partial L / \partial \theta$ (PyTorch computes the derivatives; Adam,
#   used below, adapts the step size per parameter). One such update is a training **step**.
#
# A two-layer network with 2 classes, trained on a single example:

# %%
torch.manual_seed(0)
tiny = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.SiLU(), torch.nn.Linear(4, 2))
x_example, y_example = torch.tensor([[0.5, -1.0, 2.0]]), torch.tensor([1])   # one input; its class is 1
optimizer = torch.optim.SGD(tiny.parameters(), lr=0.1)                      # plain gradient descent
for step in range(51):
    logits = tiny(x_example)
    loss = torch.nn.functional.cross_entropy(logits, y_example)
    if step in (0, 10, 50):
        p = torch.softmax(logits, dim=1)
        print(f"step {step:2d}: logits {logits.detach().numpy().round(2)}, softmax {p.detach().numpy().round(3)},"
              f" loss {loss.item():.3f}")
    optimizer.zero_grad()
    loss.backward()      # d loss / d parameter, for all 26 parameters
    optimizer.step()     # parameter <- parameter - lr * derivative
print("parameters:", sum(p.numel() for p in tiny.parameters()))

# %% [markdown]
# The loss falls and the probability of the true class rises with every step (printed above).
# Every model below is trained like this, on shapes instead of three numbers.

# %% [markdown]
# ## 4. The experiment: 3D Tetris
#
# Eight shapes, each made of four unit cubes. Each is stored as the four cube centres in a
# fixed order, in units of the cube edge. Two of them, `chiral_left` and `chiral_right`, are
# mirror images of each other, like your left and right hands.

# %%
pos_ref, labels_ref = tetris.shape_tensor()   # (8, 4, 3) cube centres, labels 0..7
names = tetris.NAMES
for name, cubes in tetris.SHAPES.items():
    print(f"{name:13s} {cubes}")
tetris.plot_shapes([(name, None, None) for name in names], title="the eight 3D Tetris shapes").show()

# %% [markdown]
# Are the two chiral shapes really different? `tetris.superposition_rmsd` tries every
# relabelling of the cubes and the best rotation (Kabsch algorithm) and returns the smallest
# root-mean-square distance between the two shapes, in cube edges. Allowing mirrors as well
# ($\det Q = -1$) should make them coincide.

# %%
# NBVAL_CHECK_OUTPUT
left, right = pos_ref[tetris.CHIRAL_PAIR[0]].double(), pos_ref[tetris.CHIRAL_PAIR[1]].double()
mirror_y = torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64))  # y -> -y, det = -1

print("chiral_right is the mirror image (y -> -y) of chiral_left:", tetris.same_points(left @ mirror_y.T, right))
print(f"best superposition by a rotation: RMSD = {tetris.superposition_rmsd(left, right, proper=True):.3f} edges")
print("superimposable by a rotation:", tetris.superposition_rmsd(left, right, proper=True) < 1e-6)
print("superimposable by a rotation and a mirror:", tetris.superposition_rmsd(left, right, proper=False) < 1e-6)

# %% [markdown]
# **Training set:** one example per shape, in the orientation printed above (8 examples).
# **Test sets:** every shape rotated at random (Haar-uniform rotations) and shifted by a random
# translation; a second test set also mirrors half of the copies. A mirrored `chiral_left` *is*
# a `chiral_right`, so its label changes; every other shape is its own mirror image.

# %%
n_test = pick(full=250, quick=100)                                   # copies of each shape
x_rot, y_rot = tetris.make_test_set(n_test, mirror=False, seed=1)    # rotations + shifts
x_o3, y_o3 = tetris.make_test_set(n_test, mirror=True, seed=2)       # ... and mirror images
x_train, y_train = pos_ref, labels_ref                               # ONE example per class
print(f"training set: {len(x_train)} shapes; test sets: {len(x_rot)} rotated, {len(x_o3)} rotated or mirrored")
print("mirrored chiral copies relabelled:", int((y_o3 != labels_ref.repeat(n_test)).sum()))

views = [("chiral_left", None, None)] + [("chiral_left", R, None) for R in random_rotation(3)]
views += [("chiral_left", mirror_y.float() @ R, None) for R in random_rotation(4)]
tetris.plot_shapes(views, title="top: chiral_left, turned three times; bottom: mirror images (= chiral_right)").show()

# %% [markdown]
# ## 5. A plain network on raw coordinates
#
# The first model is a multilayer perceptron (MLP) on the 12 coordinates of the four cubes.
# It subtracts the centre of the shape first, which makes it exactly blind to translations:
# translations are the easy part of the symmetry. Nothing makes it blind to rotations.

# %%
show_source(PlainMLP)
show_source(tetris.train_classifier)

# %%
torch.manual_seed(0)
mlp = PlainMLP()
log = tetris.train_classifier(mlp, mlp.parameters(), x_train, y_train, steps=300, device=device)
results = {}  # model -> accuracy on the training set and the two test sets
results["plain MLP"] = {"train": accuracy(mlp, x_train, y_train), "rotated": accuracy(mlp, x_rot, y_rot),
                        "rotated + mirrored": accuracy(mlp, x_o3, y_o3)}
print(f"trained in {log['seconds']:.1f} s; accuracy:",
      {k: f"{v:.1%}" for k, v in results["plain MLP"].items()})
print(f"chance level: {1 / len(names):.1%}")


# %% [markdown]
# It learned its eight training examples perfectly and fails on rotated copies of them:
# the accuracy on the rotated test set is not far above chance. To see why, turn one shape
# slowly about the $z$ axis and watch the probability the MLP gives the right class.

# %%
def turn_about_z(pos: torch.Tensor, angles: torch.Tensor) -> torch.Tensor:
    """Copies of one shape pos (N, 3) rotated by each angle (rad) about z: (A, N, 3)."""
    R = o3.matrix_z(angles).to(pos.dtype)
    return torch.einsum("aij,nj->ani", R, pos)


angles = torch.linspace(0, 2 * np.pi, 73)
shape_id = names.index("L")
with torch.no_grad():
    p_right = torch.softmax(mlp(turn_about_z(pos_ref[shape_id], angles)), dim=1)[:, shape_id]
plt.figure(figsize=(5, 3))
plt.plot(np.degrees(angles.numpy()), p_right.numpy(), label="plain MLP")
plt.xlabel("rotation about z (degrees)")
plt.ylabel("P(correct class 'L')")
plt.ylim(-0.05, 1.05)
plt.legend()
plt.show()

# %% [markdown]
# ## 6. Route 1: data augmentation
#
# The brute-force fix: show the MLP many randomly rotated copies of each shape, and hope it
# learns that orientation does not matter. We sweep the number of copies per shape from 1 to
# 1000, train a fresh MLP for each (about 100 passes over the data, at least 300 steps), and
# record the accuracy on the rotated test set and the training cost (wall time, and the number
# of shapes pushed through the network).

# %%
copies_list = pick(full=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], quick=[1, 10, 100, 1000])
seeds = pick(full=[0, 1, 2], quick=[0])
sweep = {"copies": [], "seed": [], "accuracy": [], "seconds": [], "samples": []}
for copies in copies_list:
    for seed in seeds:
        torch.manual_seed(seed)
        x_aug, y_aug = tetris.random_copies(pos_ref, labels_ref, copies)   # random rotations
        model = PlainMLP()
        steps = max(300, 100 * len(x_aug) // 256)                         # ~100 epochs of batches of 256
        log = tetris.train_classifier(model, model.parameters(), x_aug, y_aug, steps=steps, seed=seed,
                                     device=device)
        for key, value in [("copies", copies), ("seed", seed), ("accuracy", accuracy(model, x_rot, y_rot)),
                           ("seconds", log["seconds"]), ("samples", log["samples"])]:
            sweep[key].append(value)
        if copies == copies_list[-1] and seed == seeds[0]:
            mlp_aug = model   # kept for the comparison below
sweep = {k: np.array(v) for k, v in sweep.items()}
mean_acc = np.array([sweep["accuracy"][sweep["copies"] == c].mean() for c in copies_list])
mean_sec = np.array([sweep["seconds"][sweep["copies"] == c].mean() for c in copies_list])
for c, a, s in zip(copies_list, mean_acc, mean_sec):
    print(f"{c:5d} copies per shape: test accuracy {a:6.1%}, training {s:5.1f} s")


# %% [markdown]
# Where does the accuracy cross 90 % (and 99 %)? We interpolate the mean accuracy linearly in the
# logarithm of the number of copies between the two sweep points that bracket 90 %.

# %%
def copies_needed(copies: list[int], acc: np.ndarray, target: float) -> float:
    """Copies per shape where acc first reaches target (log-linear interpolation); nan if never."""
    above = np.nonzero(acc >= target)[0]
    if len(above) == 0:
        return float("nan")
    k = above[0]
    if k == 0:
        return float(copies[0])
    x0, x1, a0, a1 = np.log(copies[k - 1]), np.log(copies[k]), acc[k - 1], acc[k]
    return float(np.exp(x0 + (target - a0) / (a1 - a0) * (x1 - x0)))


factor_90 = copies_needed(copies_list, mean_acc, 0.9)
if np.isnan(factor_90):
    print(f"90 % test accuracy was not reached with up to {copies_list[-1]} copies per shape")
else:
    print(f"copies per shape needed for 90 % test accuracy: about {factor_90:.0f}")
factor_99 = copies_needed(copies_list, mean_acc, 0.99)
print(f"copies per shape needed for 99 % test accuracy: about {factor_99:.0f}" if not np.isnan(factor_99)
      else f"99 % test accuracy was not reached with up to {copies_list[-1]} copies per shape")
print(f"best accuracy in the sweep: {mean_acc.max():.1%} with {copies_list[int(mean_acc.argmax())]} copies")
print(f"training cost grows {mean_sec[-1] / mean_sec[0]:.0f}-fold from {copies_list[0]} to {copies_list[-1]} copies")

# %%
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.6))
ax1.semilogx(sweep["copies"], sweep["accuracy"], "o", alpha=0.4, label="single runs")
ax1.semilogx(copies_list, mean_acc, "-", label="mean")
ax1.axhline(0.9, color="grey", ls=":", label="90 %")
if not np.isnan(factor_90):
    ax1.axvline(factor_90, color="C3", ls="--", label=f"~{factor_90:.0f} copies")
ax1.set_xlabel("rotated copies per shape (augmentation factor)")
ax1.set_ylabel("accuracy on rotated test set")
ax1.legend()
ax2.loglog(copies_list, mean_sec, "o-", label="wall time (s)")
ax2.set_xlabel("rotated copies per shape (augmentation factor)")
ax2.set_ylabel("training time (s)")
ax2b = ax2.twinx()
ax2b.loglog(sweep["copies"], sweep["samples"], "s", color="C1", alpha=0.4)
ax2b.set_ylabel("shapes seen in training", color="C1")
ax2.set_title("cost of augmentation")
plt.tight_layout()
plt.show()

# %% [markdown]
# Augmentation works, slowly: the accuracy creeps up with the logarithm of the number of
# copies, while the training cost, once the data outgrow the minimum of 300 steps, grows in
# proportion to it. Talks on equivariant networks
# quote roughly 500-fold augmentation as the price of rotation invariance in 3D; the factor
# this toy needs is printed above. It depends on the task (here the MLP even gets the cubes in
# a fixed order, and the shapes carry no noise), on the accuracy you ask for, and on the
# network. What does not depend on the details: the learned symmetry is only approximate
# (section 9 measures it), and every new symmetry (mirrors, permutations of the atoms, ...)
# multiplies the data again. Here the MLP trained on the most copies also handles mirror
# images, because a mirrored chiral shape is a rotated copy of its partner:

# %%
aug_name = "MLP + augmentation"
results[aug_name] = {
    "train": accuracy(mlp_aug, x_train, y_train), "rotated": accuracy(mlp_aug, x_rot, y_rot),
    "rotated + mirrored": accuracy(mlp_aug, x_o3, y_o3)}
print(f"{copies_list[-1]} copies per shape:", {k: f"{v:.1%}" for k, v in results[aug_name].items()})

# %% [markdown]
# ## 7. Route 2: an invariant model
#
# Instead of teaching invariance, build it in: describe each shape only by its six pairwise
# distances $|x_i - x_j|$, sorted (so the order of the cubes does not matter either).
# Distances do not change under rotations, translations *or mirrors*.
#
# **Pause and predict** before running the next cells: which pair of shapes can such a model
# never tell apart? (Exercise 2 asks you to prove your answer.)

# %%
show_source(tetris.pairwise_distances)
show_source(DistanceMLP)

# %%
torch.manual_seed(0)
invariant = DistanceMLP()
log = tetris.train_classifier(invariant, invariant.parameters(), x_train, y_train, steps=500, device=device)
results["distance MLP"] = {"train": accuracy(invariant, x_train, y_train),
                           "rotated": accuracy(invariant, x_rot, y_rot),
                           "rotated + mirrored": accuracy(invariant, x_o3, y_o3)}
print({k: f"{v:.1%}" for k, v in results["distance MLP"].items()})
print(f"7 of 8 classes: {7 / 8:.1%}")

# %% [markdown]
# Rotations no longer hurt, but the accuracy stops near 7/8 (exactly 7/8 wherever the two
# chiral shapes are equally frequent), even on the *training set*. The
# reason, numerically: the two chiral shapes have identical sorted distance lists, so the
# model receives the same six numbers for both (up to round-off) and must give them the same answer.

# %%
# NBVAL_CHECK_OUTPUT
d = tetris.pairwise_distances(torch.stack([left, right]))
print("chiral_left  distances (edges):", d[0].numpy().round(3))
print("chiral_right distances (edges):", d[1].numpy().round(3))
print("identical distance lists:", torch.allclose(d[0], d[1], atol=1e-12))
with torch.no_grad():
    logits_pair = invariant(torch.stack([left, right]).float())
# float32 distances of two mirror images agree only to round-off, so compare the logits to a
# tolerance far above round-off (1e-7) and far below any real difference between classes
print("same logits for the two shapes (to 1e-5):", torch.allclose(logits_pair[0], logits_pair[1], atol=1e-5))


# %%
def confusion(pred: torch.Tensor, true: torch.Tensor, n: int = 8) -> np.ndarray:
    """Confusion matrix: row = true class, column = predicted class, entries = fractions."""
    m = np.zeros((n, n))
    np.add.at(m, (true.numpy(), pred.numpy()), 1)
    return m / m.sum(axis=1, keepdims=True)


with torch.no_grad():
    pred = invariant(x_o3).argmax(dim=1)
plt.figure(figsize=(4.5, 4))
plt.imshow(confusion(pred, y_o3), cmap="Blues", vmin=0, vmax=1)
plt.xticks(range(8), names, rotation=60)
plt.yticks(range(8), names)
plt.xlabel("predicted")
plt.ylabel("true")
plt.colorbar(label="fraction")
plt.title("distance MLP, rotated + mirrored test set", fontsize=10)
plt.tight_layout()
plt.show()

# %% [markdown]
# ## 8. Route 3: an equivariant model (e3nn)
#
# An equivariant network keeps *geometric* features inside: scalars, but also vectors and
# their mirror-behaving cousins. In e3nn each feature is labelled by an **irrep** `lp`:
# $l$ is how it turns under rotations (0 scalar, 1 vector) and $p$ its parity, `e` (even) or
# `o` (odd), how it behaves under the inversion $x \to -x$:
#
# | irrep | example | under a mirror |
# |---|---|---|
# | `0e` scalar | energy, distance | unchanged |
# | `0o` pseudoscalar | handedness, $(a \times b)\cdot c$ | flips sign |
# | `1o` vector | force, dipole, bond direction | mirrored |
# | `1e` pseudovector | angular momentum, $a \times b$ | mirrored, then sign-flipped |
#
# The model below is a small message-passing network on the graph of face-sharing cubes. A
# layer sends along each edge $i \leftarrow j$ the **tensor product** of the neighbour's features
# $h_j$ with the spherical harmonics $Y(\hat r_{ij})$ of the bond direction (for $l \le 1$:
# a constant and the unit vector), sums the messages and applies a gated nonlinearity:
#
# $$ h_i' = \sigma\Big(\sum_{j \in \mathcal N(i)} W \big(h_j \otimes Y(\hat r_{ij})\big)\Big). $$
#
# Why three layers? A pseudoscalar is a triple product $(a \times b)\cdot c$ of three bond
# vectors: layer 1 makes vectors (`1o`), layer 2 crosses two of them into a pseudovector
# (`1e`), layer 3 dots it with a third (`0o`). The output `7x0e + 1x0o` becomes 8 logits:
# six achiral classes take one scalar each; the chiral pair share a scalar $s$ and get
# $s + p$ and $s - p$ from the pseudoscalar $p$, so a mirror swaps them.

# %%
show_source(EquivariantTetris)

# %%
torch.manual_seed(0)
e3 = EquivariantTetris()
print("output irreps:", e3.irreps_out, "| parameters:", sum(p.numel() for p in e3.parameters()))
log_e3 = tetris.train_classifier(e3.logits, e3.parameters(), x_train, y_train, steps=200, lr=1e-2, device=device)
results["e3nn equivariant"] = {"train": accuracy(e3.logits, x_train, y_train),
                               "rotated": accuracy(e3.logits, x_rot, y_rot),
                               "rotated + mirrored": accuracy(e3.logits, x_o3, y_o3)}
print(f"trained on {len(x_train)} examples in {log_e3['seconds']:.1f} s;",
      {k: f"{v:.1%}" for k, v in results["e3nn equivariant"].items()})

# %% [markdown]
# Every rotated and mirrored test shape is classified correctly from one example per class.
# The check below looks at the pseudoscalar output itself: it is nonzero for the chiral shape,
# unchanged by a rotation, flips sign in a mirror, and vanishes on the six achiral shapes
# (each is its own mirror image, so $p = -p$).

# %%
R = o3.matrix_x(torch.tensor(1.0)) @ o3.matrix_z(torch.tensor(0.3))  # a rotation
with torch.no_grad():
    p = e3(torch.stack([left.float(), left.float() @ R.T, left.float() @ mirror_y.float().T]))[:, 7]
    p_achiral = e3(pos_ref[:6])[:, 7]
print(f"pseudoscalar of chiral_left: {p[0]:+.2f}, rotated: {p[1]:+.2f}, mirrored: {p[2]:+.2f}")

# %%
# NBVAL_CHECK_OUTPUT
scale = p[0].abs()
print("pseudoscalar of chiral_left is nonzero (|p| > 0.1):", bool(scale > 0.1))
print("a rotation leaves it unchanged (to 1e-4 relative):", bool((p[1] - p[0]).abs() < 1e-4 * scale))
print("a mirror flips its sign (to 1e-4 relative):", bool((p[2] + p[0]).abs() < 1e-4 * scale))
print("it vanishes on the achiral shapes (below 1e-4 relative):", bool(p_achiral.abs().max() < 1e-4 * scale))

# %%
fig, ax = plt.subplots(figsize=(7, 3.2))
labels = list(results)
for k, test in enumerate(["rotated", "rotated + mirrored"]):
    ax.bar(np.arange(len(labels)) + 0.4 * k - 0.2, [results[m][test] for m in labels], width=0.4, label=test)
ax.axhline(1 / 8, color="grey", ls=":", label="chance")
ax.set_xticks(range(len(labels)), labels, rotation=15)
ax.set_ylabel("test accuracy")
ax.set_ylim(0, 1.05)
ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
plt.show()


# %% [markdown]
# ## 9. Measuring equivariance, against the task's own representation
#
# A model is equivariant when $f(Qx + t) = D(Q)\, f(x)$ for every $Q \in O(3)$ and shift $t$.
# Which $D$? The task decides. Turn a shape and its class stays, so the 8 logits must not
# change: $D(Q) = 1$ for a rotation. Mirror it and six shapes stay what they are, but a mirrored
# `chiral_left` *is* a `chiral_right`: a perfect classifier **swaps** the two chiral logits, so
# for $\det Q = -1$, $D(Q)$ is the permutation matrix $P$ that exchanges them. Testing the logits
# against $D = 1$ for mirrors would call a perfect classifier wrong.
#
# The traces of $D$ (its *characters*) say which irreps the 8 logits carry: the number of even
# and odd ones add up to $\operatorname{tr} D(1)$ and differ by $\operatorname{tr} D(-1)$.

# %%
# NBVAL_CHECK_OUTPUT
def task_representation(Q: torch.Tensor) -> torch.Tensor:
    """D(Q) (8, 8) on the logits: the identity for a rotation; for det Q = -1, the
    permutation that swaps the two chiral classes."""
    D = torch.eye(8, dtype=Q.dtype)
    if torch.linalg.det(Q) < 0:
        i, j = tetris.CHIRAL_PAIR
        D[[i, j]] = D[[j, i]]
    return D


identity, inversion = torch.eye(3, dtype=torch.float64), -torch.eye(3, dtype=torch.float64)
tr_1, tr_inv = task_representation(identity).trace().item(), task_representation(inversion).trace().item()
n_even, n_odd = round((tr_1 + tr_inv) / 2), round((tr_1 - tr_inv) / 2)
print(f"tr D(1) = {tr_1:.0f}, tr D(-1) = {tr_inv:.0f}: the logits carry {n_even}x0e + {n_odd}x0o")

# %% [markdown]
# That is the output of the e3nn model of section 8: `7x0e + 1x0o`, in the basis
# $(s, p)$ rather than $(s + p, s - p)$. Its `logits` method makes that change of basis.
#
# Now the measurement: the largest violation over 20 random rotations, and separately over 20
# mirror images (the same rotations followed by $y \to -y$), relative to the size of the logits.
# An exact model sits at round-off: about $10^{-15}$ in float64 and $10^{-7}$ in float32.

# %%
def equivariance_error(f, pos: torch.Tensor, elements: torch.Tensor, seed: int = 0) -> float:
    """max over Q in elements (K, 3, 3) of |f(pos Q^T + t) - f(pos) D(Q)^T| / max |f(pos)|, with
    D = task_representation(Q) and a random shift t ~ N(0, 3^2) per element; pos (B, 4, 3)."""
    torch.manual_seed(seed)
    with torch.no_grad():
        out = f(pos)
        worst = 0.0
        for Q in elements:
            t = 3.0 * torch.randn(3, dtype=pos.dtype)
            D = task_representation(Q).to(pos.dtype)
            worst = max(worst, (f(pos @ Q.T + t) - out @ D.T).abs().max().item())
    return worst / out.abs().max().item()


rotations = random_rotation(20, dtype=torch.float64)
elements = {"rotations": rotations, "mirrors": rotations @ mirror_y}   # det Q = +1 and det Q = -1
models = {"plain MLP": mlp, aug_name: mlp_aug, "distance MLP": invariant, "e3nn equivariant": e3}


def logit_function(model: torch.nn.Module):
    """The logits of a model: the e3nn model makes them from its 7x0e + 1x0o output."""
    return model.logits if isinstance(model, EquivariantTetris) else model


errors = {}
print(f"{'relative error':19s} {'rotations f64':>14s} {'mirrors f64':>12s} {'rotations f32':>14s} {'mirrors f32':>12s}")
for name, model in models.items():
    for dtype in (torch.float64, torch.float32):
        f = logit_function(copy.deepcopy(model).to(dtype))
        for kind, Qs in elements.items():
            errors[name, kind, dtype] = equivariance_error(f, x_rot[:64].to(dtype), Qs.to(dtype))
    print(f"{name:19s}" + "".join(f" {errors[name, kind, dtype]:13.1e}" for dtype in (torch.float64, torch.float32)
                                  for kind in elements))

# %% [markdown]
# The checked summary (the same on every machine and in quick and full mode) reads the table:
# the plain MLP is far from equivariant, with or without augmentation; the distance MLP is exact
# for rotations and fails for mirrors, because it gives a shape and its mirror image the same
# logits where the task needs the chiral pair swapped; only the e3nn model is exact for both,
# in either precision. Note the augmented MLP: it picks the right class on rotated shapes
# (section 6), yet its logits change by a sizeable fraction when the shape turns. Learned
# symmetry is approximate; built-in symmetry is exact, if it is the task's symmetry.

# %%
# NBVAL_CHECK_OUTPUT
def level(err: float, dtype: torch.dtype) -> str:
    """'round-off' below 1e-10 (float64) or 1e-4 (float32); 'not equivariant' above 1e-3."""
    if err < (1e-10 if dtype == torch.float64 else 1e-4):
        return "round-off"
    return "not equivariant" if err > 1e-3 else "in between"


for name in models:
    print(f"{name:19s}", "  ".join(f"{kind} {str(dtype)[6:]}: {level(errors[name, kind, dtype], dtype):15s}"
                                   for kind in elements for dtype in (torch.float64, torch.float32)))

# %% [markdown]
# The pitfall, measured: the usual invariance test ($D = 1$ for every element, mirrors included)
# gives the opposite verdicts on the two models that differ at mirrors.

# %%
def invariance_error(f, pos: torch.Tensor, elements: torch.Tensor) -> float:
    """max |f(pos Q^T) - f(pos)| / max |f(pos)| over Q in elements: the test with D = 1."""
    with torch.no_grad():
        out = f(pos)
        return max((f(pos @ Q.T) - out).abs().max().item() for Q in elements) / out.abs().max().item()


pos64 = x_rot[:64].double()
for name in ("distance MLP", "e3nn equivariant"):
    f = logit_function(copy.deepcopy(models[name]).double())
    print(f"{name:17s} mirrors, tested with D = 1: {invariance_error(f, pos64, elements['mirrors']):.1e};"
          f" with the task's D: {errors[name, 'mirrors', torch.float64]:.1e}")

# %% [markdown]
# ## 10. Curie's principle: symmetric causes, symmetric effects
#
# Pierre Curie (1894): the effects have at least the symmetry of their causes. For an
# equivariant model: if a symmetry operation $g$ maps the input onto itself ($gx = x$ up to
# relabelling the cubes), then $f(x) = f(gx) = D(g)\,f(x)$, so the output can only have
# components that $D(g)$ leaves alone. The square has an inversion centre ($x \to -x$ about its
# middle); for a vector output $D = -1$, hence $f = -f = 0$: **no vector can come out**,
# whatever the weights. Lift one cube a little out of the plane and the inversion centre is
# gone, and so is the constraint. The T has no inversion centre but two mirror planes: a
# vector is allowed, but only along their intersection, the T's stem ($y$).
#
# We ask an *untrained* e3nn model with output `1o` (one vector), in float64.

# %%
torch.manual_seed(0)
vector_model = EquivariantTetris(irreps_out="1o").double()   # random weights: symmetry alone decides
square = pos_ref[names.index("square")].double()
broken = square.clone()
broken[0, 2] += 0.3                                         # lift one cube by 0.3 edges
T_shape = pos_ref[names.index("T")].double()
with torch.no_grad():
    v_square, v_broken, v_T = vector_model(torch.stack([square, broken, T_shape]))
for name, v in [("square", v_square), ("broken square", v_broken), ("T", v_T)]:
    print(f"{name:14s} vector output {v.numpy().round(4)}, length {v.norm():.1e}")

# %%
# NBVAL_CHECK_OUTPUT
print("square: vector output vanishes (length < 1e-12):", bool(v_square.norm() < 1e-12))
print("broken square: vector output appears (length > 1e-4):", bool(v_broken.norm() > 1e-4))
print("T: vector output along the stem (x and z components < 1e-12):",
      bool(v_T[[0, 2]].abs().max() < 1e-12 and v_T[1].abs() > 1e-4))

# %%
fig = tetris.plot_shapes([(square, None, torch.zeros(3)), (broken, None, torch.tensor([4.5, 0.0, 0.0])),
                          ("T", None, torch.tensor([9.0, 0.0, 0.0]))],
                         title="vector output (red): none for the square, one for the broken square and the T")
for v, shift in [(v_broken, 4.5), (v_T, 9.0)]:
    start = torch.tensor([shift, 0.0, 0.0], dtype=torch.float64)  # plot_shapes centres each shape at its shift
    end = start + 2.0 * v / v.norm()
    fig.add_trace(go.Scatter3d(x=[start[0], end[0]], y=[start[1], end[1]], z=[start[2], end[2]],
                               mode="lines", line=dict(color="red", width=8), showlegend=False))
    fig.add_trace(go.Cone(x=[end[0]], y=[end[1]], z=[end[2]], u=[v[0]], v=[v[1]], w=[v[2]], sizemode="absolute",
                          sizeref=0.6, anchor="tip", colorscale=[[0, "red"], [1, "red"]], showscale=False))
fig.show()

# %% [markdown]
# ### The point group of every shape, and Neumann's principle
#
# The operations that map a shape onto itself form its **point group**. Curie's principle then
# becomes a calculation: a vector output $v$ must satisfy $D(g)\,v = g\,v = v$ for every $g$ of
# the group, so the allowed vectors are the ones the group average $P = \frac{1}{|G|}\sum_g g$
# keeps, and their number is $\operatorname{tr} P$. Groups with $\operatorname{tr} P > 0$ are
# called **polar**. pymatgen's `PointGroupAnalyzer` finds each group
# (`point_group_of_points`, Schoenflies symbols; a line has the infinite group $D_{\infty h}$,
# of which pymatgen returns two elements, enough here because one is the inversion). The last
# column asks the untrained vector model above.

# %%
print(f"{'shape':13s} {'point group':>11s} {'|G|':>4s} {'inversion':>9s} {'allowed vector dims':>19s}"
      f" {'|vector| of the model':>22s}")
curie_agrees = []
with torch.no_grad():
    v_all = vector_model(pos_ref.double())
for name, v in zip(names, v_all):
    symbol, group = point_group_of_points(tetris.SHAPES[name])
    has_inversion = any(torch.allclose(g, -torch.eye(3, dtype=torch.float64)) for g in group)
    allowed = round(group_projector("1o", group).trace().item())   # tr P: dimension of allowed vectors
    order = "inf" if "*" in symbol else str(len(group))
    print(f"{name:13s} {symbol.replace('*', 'inf'):>11s} {order:>4s} {str(has_inversion):>9s} {allowed:19d}"
          f" {v.norm():22.1e}")
    curie_agrees.append((allowed > 0) == bool(v.norm() > 1e-4))

# %%
# NBVAL_CHECK_OUTPUT
print(f"a vector comes out exactly for the polar shapes: {sum(curie_agrees)} of {len(names)} shapes agree")
polar_classes = [name for name in POINT_GROUPS if group_projector("1o", point_group(name)).trace() > 0.5]
print(f"polar crystal classes: {len(polar_classes)} of {len(POINT_GROUPS)}:", ", ".join(polar_classes))

# %% [markdown]
# An inversion centre is enough to forbid a vector, but it is not needed: the square and the
# zigzag have one, the line too, while the L (mirror plane only) allows a vector anywhere in its
# plane (two dimensions) and the T, the tripod and the chiral shapes allow one along an axis.
#
# **Neumann's principle** (Neumann, 1885) is the same statement for crystals: every physical
# property of a crystal has at least the symmetry of its point group. A crystal's structure is
# the cause, its property tensors are the effects. A spontaneous electric polarization is a
# vector, so it exists only in the polar crystal classes: the count and their names are printed
# above (these are the pyroelectric and ferroelectric classes, Nye 1957). Tensors of higher
# rank work the same way with $D(g)$ in place of $g$; notebook 02's appendix counts what each
# crystal class allows, and notebook 07 learns such tensors with e3nn.

# %% [markdown]
# ## 11. Symmetry breaking: what an equivariant model cannot do, and how to find what is missing
#
# Curie's principle is also a limit. An equivariant model's output has *at least* the symmetry
# of its input, so it cannot lower it. Ask a network to deform a square into a rectangle: it
# maps the four corners to four displacements (one `1o` vector per point), and the corners move
# to $x_i + \delta_i$. The square's group $D_{4h}$ has 16 operations, the rectangle's $D_{2h}$
# only 8, and no weights can bridge the difference: each corner of the square may only move
# along its diagonal, so the output is always a square. The best square is the one with the
# mean half-side, $s = (a + b)/2$, and its error is the floor below.
#
# Smidt, Geiger and Miller (2021) turned this into a tool. Give the network one more input:
# a global feature $\varphi$ of every irrep up to $l = 2$, both parities, fed to every point and
# **learned** by gradient descent together with the weights, starting from $\varphi = 0$. Whatever
# $\varphi$ becomes is the information the input lacked: a **symmetry-breaking order
# parameter**. The network (`symmetry_breaking.Deformer`, three tensor-product convolutions
# over all pairs of points, like the Tetris model) is printed here:

# %%
show_source(symmetry_breaking.Deformer)

# %%
a, b = 0.7, 0.4                                          # half-sides of the target rectangle
start, target = symmetry_breaking.square(), symmetry_breaking.rectangle(a, b)   # (4, 3) each, float64
steps = pick(full=500, quick=250)
fits = {}
for label, irreps_phi in [("without phi", None), ("with a learned phi", symmetry_breaking.IRREPS_PHI)]:
    torch.manual_seed(0)
    deformer = symmetry_breaking.Deformer(irreps_phi, mul=4, num_layers=2)  # float64
    log = symmetry_breaking.fit_deformer(deformer, start, target, steps=steps, device=device)
    fits[label] = (deformer, log)
    with torch.no_grad():
        corners = start + deformer(start)
    sides = (corners[0] - corners[1]).norm().item(), (corners[0] - corners[3]).norm().item()
    print(f"{label:19s} final loss {log['loss'][-1]:.2e} after {steps} steps ({log['seconds']:.1f} s);"
          f" output sides {sides[0]:.4f} x {sides[1]:.4f} (target {2 * a:.1f} x {2 * b:.1f})")
floor = symmetry_breaking.best_square_loss(a, b)
print(f"floor for any square: {floor:.2e}")

# %%
# NBVAL_CHECK_OUTPUT
loss_without, loss_with = fits["without phi"][1]["loss"][-1], fits["with a learned phi"][1]["loss"][-1]
print("without phi: the loss stops at the floor for squares (within 1e-6):", abs(loss_without - floor) < 1e-6)
print("with a learned phi: the rectangle is reached (loss below 1e-8):", loss_with < 1e-8)

# %%
fig, ax = plt.subplots(figsize=(5, 3.2))
for label, (_, log) in fits.items():
    ax.semilogy(log["loss"], label=label)
ax.axhline(floor, color="grey", ls=":", label="best square")
ax.set_xlabel("gradient-descent step")
ax.set_ylabel("mean squared error")
ax.legend()
plt.show()

# %% [markdown]
# What did $\varphi$ learn? Its components per irrep, and, for its `0e + 2e` part, the symmetric
# $3 \times 3$ matrix it stands for (e3nn's `CartesianTensor("ij=ji")` makes the change of basis).

# %%
deformer = fits["with a learned phi"][0]
phi = deformer.phi.detach()
for (_, ir), sl in zip(deformer.irreps_phi, deformer.irreps_phi.slices()):
    print(f"phi[{ir}]: norm {phi[sl].norm():.1e}")
from e3nn.io import CartesianTensor  # noqa: E402

sym = CartesianTensor("ij=ji")                               # irreps 1x0e + 1x2e
phi_02 = torch.cat([phi[deformer.irreps_phi.slices()[0]], phi[deformer.irreps_phi.slices()[4]]])
phi_matrix = sym.to_cartesian(phi_02)                        # (3, 3), symmetric
print("phi's 0e + 2e part as a Cartesian matrix:\n", phi_matrix.numpy().round(3))
off_diagonal = (phi_matrix - torch.diag(phi_matrix.diagonal())).abs().max().item()
print(f"largest off-diagonal element: {off_diagonal:.1e}; xx - yy = {phi_matrix[0, 0] - phi_matrix[1, 1]:+.3f}")

# %% [markdown]
# Only the even scalar and the `2e` part are nonzero; the pseudoscalar, both vectors and `2o`
# stay at round-off. The `2e` part is a quadrupole-like matrix, diagonal in the rectangle's
# axes (the off-diagonal elements are at round-off) with unequal $xx$ and $yy$ entries: it tells
# apart the two in-plane axes that the square treats alike. Its sign and size are the network's
# choice (another seed may flip them); which components are nonzero is not. This is no accident of
# the optimiser. At $\varphi = 0$ the gradient of the loss with respect to $\varphi$ is unchanged by
# every operation that maps *both* the square and the rectangle onto themselves, so gradient
# descent can only grow components with the rectangle's symmetry. We count, among the square's
# 16 operations, those that leave the gradient at $\varphi = 0$, and the learned $\varphi$,
# unchanged.

# %%
# NBVAL_CHECK_OUTPUT
_, square_group = point_group_of_points(start)
_, rectangle_group = point_group_of_points(target)
torch.manual_seed(0)
fresh = symmetry_breaking.Deformer(symmetry_breaking.IRREPS_PHI, mul=4, num_layers=2)
(start + fresh(start) - target).pow(2).mean().backward()
grad_phi = fresh.phi.grad
with default_dtype(torch.float64):                               # D(g) in float64, not float32
    D_phi = fresh.irreps_phi.D_from_matrix(square_group)         # (16, dim, dim)
keeps_grad = [(D @ grad_phi - grad_phi).norm() < 1e-10 * grad_phi.norm() for D in D_phi]
keeps_phi = [(D @ phi - phi).norm() < 1e-6 * phi.norm() for D in D_phi]
print(f"square: {len(square_group)} operations; rectangle: {len(rectangle_group)}")
print(f"operations of the square that leave the gradient at phi = 0 unchanged: {sum(keeps_grad)}")
print(f"operations of the square that leave the learned phi unchanged: {sum(keeps_phi)}")

# %% [markdown]
# Eight of sixteen: the learned order parameter has exactly the symmetry of the rectangle, and
# its nonzero irreps name the distortion (a `2e` strain, no polarization, no chirality). In
# materials the same recipe asks which order parameter a phase transition needs; Smidt et al.
# (2021) use it to generate the octahedral tilting patterns of perovskites. A practical note: we train with plain gradient descent; Adam divides every
# component by its own running size, so components that are zero up to round-off get full-size
# steps and the symmetry breaks by noise.

# %% [markdown]
# ## 12. Why this matters for materials
#
# Tetris is a toy, but the same economics hold for interatomic potentials, where every
# training label is an expensive quantum-mechanical calculation. Batzner et al. (2022) report
# that NequIP, an E(3)-equivariant potential built on e3nn, "outperforms existing models with
# up to three orders of magnitude fewer training data". The comparison the lecture quotes:
#
# | potential | symmetry handling | training data (water and ice benchmark) |
# |---|---|---|
# | DeepMD (Zhang et al., 2018) | invariant descriptors | the full reference data set |
# | NequIP (Batzner et al., 2022) | equivariant (e3nn) | about 1000x fewer structures, with comparable or lower errors |
#
# (Numbers as reported by Batzner et al., Nat. Commun. 13, 2453 (2022), section on water and
# ice; see the paper for the exact errors.) In **notebook 04** you measure such a learning
# curve yourself: error against training-set size for an invariant and an equivariant model.

# %% [markdown]
# ## Summary
#
# Each point with the number this run computed (the table below):
#
# - the same molecule in two frames has different coordinates, and a plain network gives it
#   two different energies (section 1);
# - a plain MLP trained on one orientation per shape is not far above chance on rotated shapes;
# - data augmentation fixes rotations at a price: the accuracy climbs with the logarithm of
#   the number of copies while the cost grows with the data; the factor for 90 % is printed below;
# - an invariant (distance) model is exact for rotations but confuses the chiral pair, which
#   has identical distance lists: 7 of 8 classes;
# - the e3nn model learns from one example per class, classifies every rotated and mirrored
#   shape, and its pseudoscalar output flips sign in a mirror;
# - equivariance errors, measured against the task's representation (a mirror swaps the chiral
#   logits; the logits carry `7x0e + 1x0o`): far from zero for the MLPs (augmented or not);
#   round-off for rotations but not for mirrors for the distance model; round-off for both for
#   the e3nn model;
# - Curie: a vector output exists exactly for the shapes with a polar point group (checked for
#   all eight); Neumann's principle says the same of crystal properties (polar crystal classes);
# - an equivariant model cannot deform a square into a rectangle (its loss stops at the floor
#   for squares); a learned input $\varphi$ removes the floor, and it learns only `0e` and `2e`
#   components, with the rectangle's 8 symmetry operations: the order parameter of the distortion.

# %%
print(f"{'model':24s} {'train':>7s} {'rotated':>8s} {'rot.+mirror':>12s}   equivariance error f64: rotations / mirrors")
for name, acc in results.items():
    err = (f"{errors[name, 'rotations', torch.float64]:.0e} / {errors[name, 'mirrors', torch.float64]:.0e}"
           if (name, "rotations", torch.float64) in errors else "-")
    print(f"{name:24s} {acc['train']:7.1%} {acc['rotated']:8.1%} {acc['rotated + mirrored']:12.1%}   {err}")
factor_text = f"about {factor_90:.0f}" if not np.isnan(factor_90) else f"more than {copies_list[-1]}"
print(f"augmentation copies per shape for 90 % on rotated shapes: {factor_text}")
print(f"Curie: vector allowed exactly for the polar shapes in {sum(curie_agrees)} of {len(names)} cases")
print(f"square -> rectangle: loss {loss_without:.1e} without phi (floor {floor:.1e}), {loss_with:.1e} with phi;"
      f" phi keeps {sum(keeps_phi)} of the square's {len(square_group)} operations")
headline("e3nn model accuracy on rotated and mirrored shapes", 100 * results["e3nn equivariant"]["rotated + mirrored"], "%")


# %% [markdown]
# ## Exercises
#
# **Exercise 1 (write your own equivariance test).** The dipole moment of point charges
# $q_i$ at positions $x_i$ is $\mu = \sum_i q_i x_i$. Write a unit test that checks
# $\mu(Qx) = Q\,\mu(x)$ for 10 random rotations in float64 (tolerance 1e-12). Then apply the
# same test to the "function" that returns $\sum_i q_i |x_i|$ per Cartesian axis (component-wise
# absolute values) and watch it fail.
# *Hint:* `random_rotation(dtype=torch.float64)` gives a rotation; with points as rows,
# rotate by `x @ Q.T`. Is the dipole also invariant under translations? (Only for a neutral
# molecule.)

# %% tags=["solution"]
def dipole(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Dipole moment sum_i q_i x_i (e*Å) of charges q (N,) at x (N, 3)."""
    return (q[:, None] * x).sum(dim=0)


def abs_dipole(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Not a vector: component-wise absolute values depend on the frame."""
    return (q[:, None] * x.abs()).sum(dim=0)


def is_rotation_equivariant(f, n_trials: int = 10, tol: float = 1e-12) -> bool:
    torch.manual_seed(0)
    x, q = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, dtype=torch.float64)
    for _ in range(n_trials):
        Q = random_rotation(dtype=torch.float64)
        if (f(x @ Q.T, q) - Q @ f(x, q)).abs().max() > tol:
            return False
    return True


print("dipole is rotation-equivariant:", is_rotation_equivariant(dipole))
print("abs_dipole is rotation-equivariant:", is_rotation_equivariant(abs_dipole))

# %% [markdown]
# **Exercise 2 (which pair does the invariant model confuse?).** Before section 7 you were
# asked to predict it. Prove your answer for all 28 pairs of shapes: compute the sorted
# distance lists with `tetris.pairwise_distances` and print every pair whose lists agree to
# `atol = 1e-9`. Then design a ninth shape of four cubes and check whether the distance model could
# tell it apart from the other eight.
# *Hint:* `itertools.combinations(range(8), 2)` lists the pairs.

# %% tags=["solution"]
import itertools

dists = tetris.pairwise_distances(pos_ref.double())
same_pairs = [(names[i], names[j]) for i, j in itertools.combinations(range(8), 2)
              if torch.allclose(dists[i], dists[j], atol=1e-9)]
print("pairs with identical distance lists:", same_pairs)


# A ninth shape. First: is there a ninth shape of four face-sharing cubes? Grow every such shape
# cube by cube and keep one copy per shape up to rotation (the 24 rotations of a cube) or up to
# rotation and mirror (48).
def cube_group(proper: bool) -> list[np.ndarray]:
    """The 24 rotations (proper=True) or 48 orthogonal maps of the cube, as signed permutations."""
    mats = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1, -1), repeat=3):
            Q = np.zeros((3, 3), dtype=int)
            Q[range(3), perm] = signs
            if not proper or round(np.linalg.det(Q)) == 1:
                mats.append(Q)
    return mats


def canonical(cubes: frozenset, group: list[np.ndarray]) -> tuple:
    """One representative of a set of cube positions up to the group and translations."""
    best = None
    for Q in group:
        p = np.array(sorted(cubes)) @ Q.T
        key = tuple(sorted(map(tuple, p - p.min(axis=0))))
        best = key if best is None or key < best else best
    return best


def polycubes(n: int, proper: bool) -> set:
    """All shapes of n face-sharing cubes, up to rotation (proper) or rotation and mirror."""
    group, shapes = cube_group(proper), {canonical(frozenset({(0, 0, 0)}), cube_group(proper))}
    for _ in range(n - 1):
        grown = set()
        for shape in shapes:
            for c in shape:
                for d in np.vstack([np.eye(3, dtype=int), -np.eye(3, dtype=int)]):
                    new = tuple(int(v) for v in np.add(c, d))
                    if new not in shape:
                        grown.add(canonical(frozenset(shape) | {new}, group))
        shapes = grown
    return shapes


print("shapes of 4 face-sharing cubes, up to rotation:", len(polycubes(4, proper=True)),
      "| up to rotation and mirror:", len(polycubes(4, proper=False)))

# All eight are taken, so a ninth shape must let cubes touch along an edge or a corner. One:
ninth = torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [2.0, 1.0, 0.0], [2.0, 1.0, 1.0]], dtype=torch.float64)
d9 = tetris.pairwise_distances(ninth[None])[0]
closest = min(range(8), key=lambda k: (dists[k] - d9).abs().max().item())
gap = (dists[closest] - d9).abs().max().item()
print(f"ninth shape: closest distance list is {names[closest]}'s, largest difference {gap:.3f} edges;"
      f" the distance model can tell it apart: {gap > 1e-6}")
print(f"ninth shape is chiral (no rotation maps it onto its mirror image):"
      f" {tetris.superposition_rmsd(ninth, ninth @ mirror_y.T, proper=True) > 1e-6}")

# %% [markdown]
# **Exercise 3 (which shapes can have a handedness?).** An equivariant model with a single
# pseudoscalar output (`EquivariantTetris(irreps_out="0o")`) gives each shape one number that
# flips sign in a mirror. For which of the eight shapes can that number be nonzero, whatever the
# weights? Predict it from the point groups printed in section 10, then check in float64 with
# an untrained model.
# *Hint:* a pseudoscalar is multiplied by $\det g$ under an operation $g$. What must happen to it
# when the shape's point group contains an operation with $\det g = -1$?

# %% tags=["solution"]
# A pseudoscalar p of a shape whose group contains an improper g (det g = -1) obeys p = -p = 0.
# Only groups of rotations alone (chiral groups) allow it: here C2, the chiral pair.
torch.manual_seed(0)
pseudo_model = EquivariantTetris(irreps_out="0o").double()
with torch.no_grad():
    p_all = pseudo_model(pos_ref.double())[:, 0]
for name, p_value in zip(names, p_all):
    symbol, group = point_group_of_points(tetris.SHAPES[name])
    improper = int((torch.linalg.det(group) < 0).sum())
    print(f"{name:13s} {symbol.replace('*', 'inf'):5s} improper operations: {improper}"
          f"  pseudoscalar {p_value:+.1e}  {'allowed' if abs(p_value) > 1e-12 else 'forbidden'}")

# %% [markdown]
# ## References
#
# 1. S. Batzner, A. Musaelian, L. Sun, M. Geiger, J. P. Mailoa, M. Kornbluth, N. Molinari,
#    T. E. Smidt, B. Kozinsky, E(3)-equivariant graph neural networks for data-efficient and
#    accurate interatomic potentials, *Nat. Commun.* **13**, 2453 (2022).
# 2. M. Geiger and T. Smidt, e3nn: Euclidean Neural Networks, arXiv:2207.09453 (2022).
# 3. N. Thomas, T. Smidt, S. Kearnes, L. Yang, L. Li, K. Kohlhoff, P. Riley, Tensor field
#    networks: rotation- and translation-equivariant neural networks for 3D point clouds,
#    arXiv:1802.08219 (2018) (the 3D Tetris task).
# 4. L. Zhang, J. Han, H. Wang, R. Car, W. E, Deep potential molecular dynamics: a scalable
#    model with the accuracy of quantum mechanics, *Phys. Rev. Lett.* **120**, 143001 (2018).
# 5. P. Curie, Sur la symétrie dans les phénomènes physiques, *J. Phys. Theor. Appl.* **3**,
#    393 (1894).
# 6. T. E. Smidt, M. Geiger, B. K. Miller, Finding symmetry breaking order parameters with
#    Euclidean neural networks, *Phys. Rev. Research* **3**, L012002 (2021).
# 7. F. E. Neumann, *Vorlesungen über die Theorie der Elasticität der festen Körper und des
#    Lichtäthers* (Teubner, Leipzig, 1885) (Neumann's principle).
# 8. J. F. Nye, *Physical Properties of Crystals: Their Representation by Tensors and Matrices*
#    (Oxford University Press, 1957) (point groups and the allowed property tensors).
