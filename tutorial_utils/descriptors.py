"""Invariant descriptors of local atomic environments, built on e3nn (notebook 03).

A local environment is the set of vectors ``r_j`` (Å) from a centre atom to its
neighbours. Projecting it on spherical harmonics gives an equivariant descriptor

    c_{n l m} = sum_j R_n(|r_j|) Y_{l m}(r_j / |r_j|),

a signal on the sphere per radial channel ``n`` (irreps ``0e + 1o + 2e + ...``, e3nn's
component normalisation, so ``sum_m Y_lm(u)^2 = 2l + 1`` for a unit vector ``u``).
Rotating the environment by ``Q`` multiplies ``c`` by the Wigner matrix ``D(Q)``, so its
rotation invariants are descriptors:

* the power spectrum ``p_{n n' l} = sum_m c_{n l m} c_{n' l m} / (2l + 1)`` (3-body);
* the bispectrum ``b_{l1 l2 l3}``: the coupling of ``c_{l1} (x) c_{l2}`` to ``l3``, dotted
  with ``c_{l3}`` (4-body), computed with e3nn tensor products down to ``0e`` (or, for
  ``l1 + l2 + l3`` odd, down to the pseudoscalars ``0o``);
* Steinhardt's bond-orientational order ``q_l`` = sqrt(power spectrum) of the neighbour
  average inside a shell (Steinhardt, Nelson, Ronchetti, Phys. Rev. B 28, 784 (1983)).

Also here: the ideal environments used to test these (fcc, hcp, bcc, simple cubic,
icosahedron), per-atom descriptors of a whole structure (through
:mod:`tutorial_utils.graphs`), rigid alignment (RMSD up to rotation, reflection and
permutation) and a small classifier of atoms against thermally perturbed references.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from ase import Atoms
from e3nn import o3

from .graphs import atoms_to_data, edge_vectors
from .symmetry import kabsch_rotation

__all__ = [
    "Bispectrum",
    "ReferenceClassifier",
    "aligned_rmsd",
    "ideal_environment",
    "irreps_sh",
    "neighbour_average",
    "power_spectrum",
    "radial_basis",
    "sh_projection",
    "steinhardt_q",
    "structure_descriptors",
    "structure_environments",
]

_ENVIRONMENTS = ("fcc", "hcp", "bcc8", "bcc14", "sc", "ico")


def irreps_sh(l_max: int) -> o3.Irreps:
    """Irreps of spherical harmonics up to ``l_max``: ``0e + 1o + 2e + ... ``."""
    if int(l_max) != l_max or l_max < 0:
        raise ValueError(f"l_max must be a non-negative integer, got {l_max}")
    return o3.Irreps.spherical_harmonics(int(l_max))


def ideal_environment(name: str, d_nn: float = 1.0, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Neighbour vectors (M, 3) of a perfect environment, nearest-neighbour distance ``d_nn``.

    ``name`` is one of ``fcc`` (12), ``hcp`` (12, ideal c/a), ``bcc8`` (first shell),
    ``bcc14`` (first two shells), ``sc`` (6) or ``ico`` (12, icosahedron).
    """
    dtype = dtype or torch.get_default_dtype()
    if name == "fcc":
        v = [(a, b, 0) for a in (1, -1) for b in (1, -1)]
        v = [p for x in v for p in (x, (x[0], 0, x[1]), (0, x[0], x[1]))]
        vec = np.array(v, float) / math.sqrt(2)
    elif name == "hcp":
        phi = np.deg2rad(np.arange(6) * 60.0)
        plane = np.stack([np.cos(phi), np.sin(phi), np.zeros(6)], 1)
        psi = np.deg2rad(30.0 + np.arange(3) * 120.0)
        ring = np.stack([np.cos(psi) / math.sqrt(3), np.sin(psi) / math.sqrt(3), np.zeros(3)], 1)
        up = ring + [0, 0, math.sqrt(2 / 3)]
        down = ring - [0, 0, math.sqrt(2 / 3)]
        vec = np.concatenate([plane, up, down])
    elif name in ("bcc8", "bcc14"):
        vec = np.array([(a, b, c) for a in (1, -1) for b in (1, -1) for c in (1, -1)], float) / math.sqrt(3)
        if name == "bcc14":  # second shell at 2/sqrt(3) times the first
            vec = np.concatenate([vec, 2 / math.sqrt(3) * np.concatenate([np.eye(3), -np.eye(3)])])
    elif name == "sc":
        vec = np.concatenate([np.eye(3), -np.eye(3)])
    elif name == "ico":
        g = (1 + math.sqrt(5)) / 2
        seeds = [(0.0, a, b * g) for a in (1.0, -1.0) for b in (1.0, -1.0)]  # cyclic permutations of these
        vertices = [p for x in seeds for p in (x, (x[1], x[2], x[0]), (x[2], x[0], x[1]))]
        vec = np.array(vertices, float) / math.sqrt(1 + g**2)
    else:
        raise ValueError(f"unknown environment {name!r}; choose one of {', '.join(_ENVIRONMENTS)}")
    return torch.as_tensor(vec * d_nn, dtype=dtype)


def radial_basis(r: torch.Tensor, n_radial: int, r_max: float, r_min: float = 0.0,
                 width: float | None = None) -> torch.Tensor:
    """Smooth radial basis (E, n_radial): Gaussians of ``width`` Å centred on
    ``linspace(r_min, r_max, n_radial)``, times a cosine cutoff that goes to zero at ``r_max``.

    ``r`` (E,) are distances in Å. The cutoff makes every descriptor continuous when a
    neighbour crosses ``r_max``.
    """
    if n_radial < 1:
        raise ValueError(f"n_radial must be at least 1, got {n_radial}")
    if not r_max > r_min:
        raise ValueError(f"r_max ({r_max} Å) must be larger than r_min ({r_min} Å)")
    centers = torch.linspace(r_min, r_max, n_radial, dtype=r.dtype, device=r.device)
    if width is None:
        width = (r_max - r_min) / max(n_radial - 1, 1)
    gauss = torch.exp(-0.5 * ((r[:, None] - centers) / width) ** 2)
    cutoff = 0.5 * (torch.cos(math.pi * r / r_max) + 1.0) * (r < r_max)
    return gauss * cutoff[:, None]


def sh_projection(edge_vec: torch.Tensor, l_max: int, radial: torch.Tensor | None = None,
                  edge_center: torch.Tensor | None = None, num_centers: int | None = None,
                  average: bool = False) -> torch.Tensor:
    """Project neighbour vectors on spherical harmonics: ``c_{nlm} = sum_j R_n(r_j) Y_lm(r_hat_j)``.

    Args:
        edge_vec: (E, 3) vectors from a centre to its neighbours, in Å (none may be zero).
        l_max: largest angular momentum.
        radial: (E, n_radial) radial weights ``R_n(r_j)``; ``None`` means one channel of ones.
        edge_center: (E,) index of the centre of each vector; ``None`` for one environment.
        num_centers: number of centres (default ``edge_center.max() + 1``).
        average: divide by the number of neighbours (Steinhardt's convention).

    Returns:
        (n_radial, (l_max+1)^2) for one environment, or (num_centers, n_radial, (l_max+1)^2),
        features ordered as ``irreps_sh(l_max)``.
    """
    if edge_vec.ndim != 2 or edge_vec.shape[1] != 3:
        raise ValueError(f"edge_vec must have shape (E, 3), got {tuple(edge_vec.shape)}")
    if bool((edge_vec.norm(dim=1) < 1e-9).any()):
        raise ValueError("a neighbour vector has zero length: a neighbour sits on its centre atom")
    Y = o3.spherical_harmonics(irreps_sh(l_max), edge_vec, normalize=True, normalization="component")
    if radial is None:
        radial = torch.ones(edge_vec.shape[0], 1, dtype=edge_vec.dtype, device=edge_vec.device)
    if radial.shape[0] != edge_vec.shape[0]:
        raise ValueError(f"radial has {radial.shape[0]} rows but there are {edge_vec.shape[0]} vectors")
    terms = radial[:, :, None] * Y[:, None, :]  # (E, n_radial, dim)
    single = edge_center is None
    if edge_center is None:
        edge_center = torch.zeros(edge_vec.shape[0], dtype=torch.long, device=edge_vec.device)
        num_centers = 1
    elif num_centers is None:
        num_centers = int(edge_center.max()) + 1 if edge_center.numel() else 0
    out = terms.new_zeros(num_centers, *terms.shape[1:]).index_add_(0, edge_center, terms)
    if average:
        count = torch.bincount(edge_center, minlength=num_centers).clamp(min=1).to(out.dtype)
        out = out / count[:, None, None]
    return out[0] if single else out


def power_spectrum(c: torch.Tensor, l_max: int) -> torch.Tensor:
    """Power spectrum ``p_{n n' l} = sum_m c_{nlm} c_{n'lm} / (2l+1)`` for ``n <= n'``.

    ``c`` (..., n_radial, (l_max+1)^2) from :func:`sh_projection`; returns
    (..., n_radial (n_radial+1)/2 * (l_max+1)), pairs (n, n') outer, ``l`` inner.
    """
    dim = (l_max + 1) ** 2
    if c.shape[-1] != dim:
        raise ValueError(f"c has {c.shape[-1]} features per channel, l_max={l_max} needs {dim}")
    n_radial = c.shape[-2]
    rows, cols = torch.triu_indices(n_radial, n_radial)
    blocks = []
    for l in range(l_max + 1):
        cl = c[..., l * l:(l + 1) ** 2]  # (..., n_radial, 2l+1)
        gram = torch.einsum("...nm,...km->...nk", cl, cl) / (2 * l + 1)
        blocks.append(gram[..., rows, cols])
    return torch.stack(blocks, dim=-1).flatten(-2)


def steinhardt_q(edge_vec: torch.Tensor, ls: tuple[int, ...] = (4, 6),
                 edge_center: torch.Tensor | None = None, num_centers: int | None = None) -> torch.Tensor:
    """Steinhardt's ``q_l = sqrt(4 pi / (2l+1) sum_m |<Y_lm>|^2)`` over the given neighbours.

    With e3nn's component normalisation this is ``sqrt(p_l)`` of the averaged projection.
    Returns (len(ls),) for one environment or (num_centers, len(ls)).
    """
    l_max = max(ls)
    c = sh_projection(edge_vec, l_max, edge_center=edge_center, num_centers=num_centers, average=True)
    p = power_spectrum(c, l_max)  # (..., l_max+1) with one radial channel
    return p[..., list(ls)].clamp(min=0).sqrt()


class Bispectrum(torch.nn.Module):
    """Bispectrum ``b_{l1 l2 l3} = [c_{l1} (x) c_{l2}]_{l3} . c_{l3}`` for ``l1 <= l2 <= l3``.

    Two e3nn tensor products: a :class:`~e3nn.o3.TensorProduct` couples each pair
    ``(l1, l2)`` to ``l3``, then an :class:`~e3nn.o3.ElementwiseTensorProduct` with
    ``c_{l3}`` keeps only the scalar output. The product has parity ``(-1)^(l1+l2+l3)``:
    ``parity=1`` (default) keeps the paths with ``l1 + l2 + l3`` even, true scalars ``0e``
    invariant under O(3); ``parity=-1`` the odd ones, pseudoscalars ``0o``, invariant under
    rotations but changing sign under inversion or a mirror. Each radial channel is used on
    its own (``n1 = n2 = n3``), so an odd path with two equal ``l`` vanishes identically (its
    coupling is antisymmetric in the two equal blocks): ``parity=-1`` keeps ``l1 < l2 < l3``.

    Input (..., n_radial, (l_max+1)^2); output (..., n_radial * len(self.paths)).
    """

    gather: torch.Tensor  # columns of c_l3 for each path, in path order

    def __init__(self, l_max: int, parity: int = 1):
        super().__init__()
        if parity not in (1, -1):
            raise ValueError(f"parity must be 1 (0e invariants) or -1 (0o pseudoscalars), got {parity}")
        self.l_max, self.parity = int(l_max), parity
        self.irreps_in = irreps_sh(l_max)
        paths = [(l1, l2, l3) for l1 in range(l_max + 1) for l2 in range(l1, l_max + 1)
                 for l3 in range(l2, min(l1 + l2, l_max) + 1) if (-1) ** (l1 + l2 + l3) == parity]
        if parity == -1:
            paths = [(l1, l2, l3) for l1, l2, l3 in paths if l1 < l2 < l3]
        self.paths: list[tuple[int, int, int]] = paths
        irreps_mid = o3.Irreps([(1, (l3, (-1) ** (l1 + l2))) for l1, l2, l3 in paths])
        irreps_c_l3 = o3.Irreps([(1, (l3, (-1) ** l3)) for _, _, l3 in paths])
        # [c_l1 (x) c_l2]_l3: one tensor-product path per (l1, l2, l3), no learnable weights
        self.tp = o3.TensorProduct(self.irreps_in, self.irreps_in, irreps_mid,
                                   [(l1, l2, k, "uuu", False) for k, (l1, l2, _) in enumerate(paths)],
                                   irrep_normalization="component")
        gather = torch.cat([torch.arange(l3 * l3, (l3 + 1) ** 2) for _, _, l3 in paths])
        self.register_buffer("gather", gather, persistent=False)
        # ... dotted with c_l3: the scalar output of l3 (x) l3, path by path
        self.dot = o3.ElementwiseTensorProduct(irreps_mid, irreps_c_l3,
                                               filter_ir_out=["0e" if parity == 1 else "0o"])

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        if c.shape[-1] != self.irreps_in.dim:
            raise ValueError(f"c has {c.shape[-1]} features per channel, l_max={self.l_max} needs "
                             f"{self.irreps_in.dim}")
        coupled = self.tp(c, c)  # [c_l1 (x) c_l2]_l3 for each path
        b = self.dot(coupled, c[..., self.gather])  # (..., n_radial, n_paths)
        return b.flatten(-2)


def structure_environments(atoms: Atoms, r_max: float) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Neighbour vectors of every atom of an ``ase.Atoms`` within ``r_max`` Å.

    Returns ``edge_vec`` (E, 3) in Å (centre to neighbour), ``edge_center`` (E,) and the
    number of atoms, using :func:`tutorial_utils.graphs.atoms_to_data` (periodic images
    included for crystals).
    """
    data = atoms_to_data(atoms, r_max)
    return edge_vectors(data), data.edge_index[1], data.num_nodes


def structure_descriptors(atoms: Atoms, r_max: float, l_max: int = 6, n_radial: int = 4,
                          kind: str = "power", r_min: float = 0.0) -> torch.Tensor:
    """Per-atom invariant descriptors (N, F) of an ``ase.Atoms``.

    ``kind``: ``"power"`` (power spectrum), ``"bispectrum"`` or ``"steinhardt"``
    (``q_0 ... q_{l_max}`` of all neighbours within ``r_max``, unweighted). The radial
    basis is :func:`radial_basis` with ``n_radial`` channels between ``r_min`` and ``r_max``.
    """
    if kind not in ("power", "bispectrum", "steinhardt"):
        raise ValueError(f"kind must be 'power', 'bispectrum' or 'steinhardt', got {kind!r}")
    edge_vec, edge_center, n = structure_environments(atoms, r_max)
    if kind == "steinhardt":
        return steinhardt_q(edge_vec, tuple(range(l_max + 1)), edge_center, n)
    radial = radial_basis(edge_vec.norm(dim=1), n_radial, r_max, r_min)
    c = sh_projection(edge_vec, l_max, radial, edge_center, n)
    if kind == "power":
        return power_spectrum(c, l_max)
    return Bispectrum(l_max).to(c.dtype)(c)


def neighbour_average(atoms: Atoms, features: torch.Tensor, r_max: float) -> torch.Tensor:
    """Average each atom's features (N, F) with those of its neighbours within ``r_max`` Å.

    Averaging over the first shell damps the thermal noise of a crystal, whose neighbours
    share its structure, while a liquid stays disordered. Applied to invariants (power
    spectra, ``q_l``) this averages the invariants; Lechner and Dellago's averaged ``q_l``
    (J. Chem. Phys. 129, 114707 (2008)) instead averages the coefficients ``q_lm`` and forms
    the invariant afterwards (pass the flattened coefficients here, then take the invariant).
    Returns (N, F).
    """
    data = atoms_to_data(atoms, r_max)
    neighbour, centre = data.edge_index
    if features.shape[0] != data.num_nodes:
        raise ValueError(f"features have {features.shape[0]} rows but the structure has {data.num_nodes} atoms")
    total = features.clone().index_add_(0, centre, features[neighbour])
    count = 1 + torch.bincount(centre, minlength=data.num_nodes).to(features.dtype)
    return total / count[:, None]


def aligned_rmsd(x: np.ndarray, y: np.ndarray, allow_reflection: bool = True) -> float:
    """RMSD (same unit as the input) between two point sets (M, 3) after the best
    permutation and the best rotation (and reflection, if allowed) about the origin.

    The permutation and the rotation are found by alternating Hungarian matching
    (``scipy.optimize.linear_sum_assignment``) and the Kabsch SVD, started from many
    rotations; the smallest RMSD found is returned (an upper bound of the true optimum,
    equal to it when the sets are congruent).
    """
    from scipy.optimize import linear_sum_assignment
    from scipy.spatial.transform import Rotation

    x, y = np.asarray(x, float), np.asarray(y, float)
    if x.shape != y.shape or x.ndim != 2 or x.shape[1] != 3:
        raise ValueError(f"point sets must both have shape (M, 3), got {x.shape} and {y.shape}")
    starts = Rotation.random(24, random_state=0).as_matrix()
    starts = np.concatenate([starts, -starts]) if allow_reflection else starts
    best = np.inf
    for R in starts:
        for _ in range(20):
            xr = x @ R.T
            cost = ((xr[:, None, :] - y[None, :, :]) ** 2).sum(-1)
            _, perm = linear_sum_assignment(cost)
            yp = y[perm]
            R_new = kabsch_rotation(x, yp, proper=not allow_reflection)
            if np.allclose(R_new, R, atol=1e-10):
                break
            R = R_new
        best = min(best, float(np.sqrt(((x @ R.T - yp) ** 2).sum(-1).mean())))
    return best


@dataclass
class ReferenceClassifier:
    """Label each descriptor by its nearest reference atoms, or as "disordered".

    Fitted on descriptors of perfect crystals with thermal noise. Features are standardised
    with the references' mean and spread; an atom gets the majority class of its ``k``
    nearest reference atoms (Euclidean distance), unless its mean distance to them is larger
    than ``quantile`` of the same quantity for the reference atoms themselves (leave-one-out):
    then it resembles no reference and is labelled disordered (label ``len(names)``).
    """

    names: list[str]
    mean: np.ndarray
    scale: np.ndarray
    reference: np.ndarray
    labels: np.ndarray
    k: int
    threshold: float

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, names: list[str], k: int = 5,
            quantile: float = 0.99) -> ReferenceClassifier:
        """``features`` (N, F) of reference atoms, integer ``labels`` (N,) indexing ``names``."""
        features, labels = np.asarray(features, float), np.asarray(labels)
        if features.ndim != 2 or features.shape[0] != labels.shape[0]:
            raise ValueError(f"need features (N, F) and labels (N,), got {features.shape} and {labels.shape}")
        missing = [n for c, n in enumerate(names) if not (labels == c).any()]
        if missing:
            raise ValueError(f"no reference atoms for class(es) {missing}")
        if not 1 <= k < len(labels):
            raise ValueError(f"k must be between 1 and the number of references - 1, got {k}")
        mean, scale = features.mean(0), features.std(0) + 1e-12
        z = (features - mean) / scale
        clf = cls(list(names), mean, scale, z, labels, k, np.inf)
        d, _ = clf._nearest(z, exclude_self=True)
        clf.threshold = float(np.quantile(d.mean(1), quantile))
        return clf

    def _nearest(self, z: np.ndarray, exclude_self: bool = False) -> tuple[np.ndarray, np.ndarray]:
        d = torch.cdist(torch.as_tensor(z), torch.as_tensor(self.reference))
        if exclude_self:
            d.fill_diagonal_(float("inf"))
        dist, idx = d.topk(self.k, largest=False)
        return dist.numpy(), idx.numpy()

    def predict(self, features: np.ndarray) -> np.ndarray:
        """Labels (N,): majority class of the k nearest references, or ``len(names)`` (disordered)."""
        z = (np.asarray(features, float) - self.mean) / self.scale
        dist, idx = self._nearest(z)
        votes = np.stack([(self.labels[idx] == c).sum(1) for c in range(len(self.names))], axis=1)
        return np.where(dist.mean(1) > self.threshold, len(self.names), votes.argmax(1))
