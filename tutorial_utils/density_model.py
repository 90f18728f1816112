"""An equivariant network that predicts electron densities as atom-centred coefficients.

The target (see :mod:`tutorial_utils.density`) is the density of a cluster fitted onto an
auxiliary basis: every atom carries a coefficient vector whose irreps depend on its element,
for example ``6x0e+4x1o+3x2e+1x3o+1x4e`` for O and ``3x0e+1x1o+1x2e`` for H in
def2-universal-jfit. :class:`DensityModel` is the NequIP-style network of notebook 04 (the same
:class:`~tutorial_utils.nn.EquivariantBackbone`) with a different readout:

1. species one-hot -> scalar features; ``num_layers`` interaction blocks with hidden features up
   to ``l = 4`` (the highest l of the basis);
2. one equivariant linear **head per element**, ``irreps_hidden -> irreps of that element's basis``:
   an O atom gets 49 numbers, an H atom 11;
3. ``c = shift + scale * head(h)``: ``shift`` is a reference density per element: by default
   the mean coefficient of that element in the training data, or the coefficients of the free
   atom (a promolecule: the network then learns the change on bonding); non-zero only for
   ``0e`` functions (the mean of a ``l > 0`` irrep over orientations is zero). ``scale`` is the
   spread of ``c - shift`` per irrep (one number per ``2l+1`` block, so that the output stays
   equivariant). Both are buffers set by :meth:`DensityModel.fit_normalisation`;
4. with ``conserve_charge=True`` (the default) the ``0e`` coefficients of each cluster are
   corrected so that the density integrates to the cluster's electron count exactly: the
   smallest change ``dc`` (Euclidean norm) with ``sum_A q_A . (c_A + dc_A) = N``, namely
   ``dc = q (N - q . c) / (q . q)``, where ``q_P = int phi_P`` (:meth:`BasisSet.electron_counts`).
   It is part of the forward pass, so training sees it; it is a linear, rotation-invariant
   operation on scalars, so the model stays equivariant.

The output of a batch is one flat vector: every atom's block in atom order, the layout of the
data files. Losses (:func:`coefficient_loss`): the mean squared coefficient error (each
coefficient weighted by one), or the error in the one-centre overlap metric
``sum_A dc_A^T S_A dc_A`` (:meth:`BasisSet.one_centre_overlap`), the part of
``int |rho_pred - rho|^2`` from functions on the same atom; the basis functions of one atom
overlap strongly (up to 0.9 for oxygen), which the plain MSE ignores.

Units: positions Å, coefficients atomic units (as in the data files).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from e3nn import o3
from torch import nn
from torch_geometric.data import Data

from .density import BasisSet, Cluster
from .graphs import radius_graph
from .nn import EquivariantBackbone, SpeciesOneHot, average_num_neighbors

__all__ = ["DENSITY_HPARAMS", "DENSITY_TRAIN", "DensityModel", "average_num_neighbors", "build_density_model",
           "clusters_to_data", "coefficient_loss", "held_out_errors", "pretrained", "split_training_pool",
           "predict_coefficients", "train_density_model"]

DENSITY_HPARAMS: dict[str, Any] = dict(r_max=3.5, num_layers=3, irreps_hidden="32x0e+16x1o+12x2e+6x3o+6x4e", l_max_sh=3,
                       num_basis=8, radial_hidden=32)
#: notebook 05's full-mode training (the shipped weights use it too): the training pool of clusters
#: of at most ``max_molecules``, ``n_valid`` validation clusters of at most 7 molecules, the
#: reference density and the loss metric chosen by ``benchmarks/density_ablation.py``; training
#: for ``max_seconds`` of wall time with the learning rate on a cosine over that time, so a faster
#: machine (a GPU) trains more epochs (400 s is what the earlier 80 epochs took on 2 CPU cores)
DENSITY_TRAIN: dict[str, Any] = dict(max_seconds=400.0, lr=1e-2, batch_size=4, n_valid=15, max_molecules=12,
                                     reference="mean", metric="overlap", conserve_charge=True)


def clusters_to_data(clusters: Sequence[Cluster], r_max: float, dtype: torch.dtype = torch.float32) -> list[Data]:
    """One ``Data`` per cluster: ``pos`` (N, 3) Å, ``z`` (N,), ``edge_index`` (2, E) within
    ``r_max`` (Å), ``coefficients`` (K,) (the target, flat e3nn layout), ``r_max``."""
    out = []
    for c in clusters:
        pos = c.positions.to(dtype)
        out.append(Data(pos=pos, z=torch.as_tensor(c.numbers, dtype=torch.long),
                        edge_index=radius_graph(pos, r_max), coefficients=c.coefficients.to(dtype),
                        r_max=torch.tensor([float(r_max)])))
    return out


class DensityModel(EquivariantBackbone):
    """Equivariant network: ``Data`` (pos, z, edge_index) -> flat density coefficients (K,).

    Args:
        basis: the auxiliary basis; its elements are the species the model knows, and each
            element's irreps are the output irreps of that element's head.
        r_max: cutoff radius (Å) of the graph.
        num_layers: interaction blocks.
        irreps_hidden: features between blocks; must contain every irrep of the basis.
        l_max_sh: highest degree of the edge spherical harmonics.
        num_basis, radial_hidden: Bessel functions and radial-MLP width.
        avg_num_neighbors: normalises the neighbour sum (set it from the training data).
        conserve_charge: correct each cluster's ``0e`` coefficients so that its density holds
            exactly its electron count (``Data.n_electrons``, or the sum of ``z``: neutral).
    """

    dims: torch.Tensor  # (S,) coefficients per atom of each species

    def __init__(self, basis: BasisSet, r_max: float = 3.5, num_layers: int = 3,
                 irreps_hidden: str | o3.Irreps = DENSITY_HPARAMS["irreps_hidden"], l_max_sh: int = 3,
                 num_basis: int = 8, radial_hidden: int = 32, avg_num_neighbors: float = 6.0,
                 conserve_charge: bool = True) -> None:
        species_onehot = SpeciesOneHot(basis.elements.keys())
        irreps_out = {z: basis.irreps(z) for z in species_onehot.species}
        have = {ir for _, ir in o3.Irreps(irreps_hidden)}
        for z, irreps in irreps_out.items():
            missing = [str(ir) for _, ir in irreps if ir not in have]
            if missing:
                raise ValueError(f"irreps_hidden {o3.Irreps(irreps_hidden).simplify()} lacks {missing}, which "
                                 f"the basis of Z={z} needs; add them")
        num_species = len(species_onehot.species)
        super().__init__(num_species, num_species, irreps_hidden, r_max, l_max_sh, num_layers, num_basis,
                         radial_hidden, avg_num_neighbors=avg_num_neighbors)
        self.basis = basis
        self.species_onehot = species_onehot
        self.species = species_onehot.species
        self.irreps_basis = irreps_out
        self.register_buffer("dims", torch.tensor([basis.elements[z].dim for z in self.species]),
                             persistent=False)
        self.heads = nn.ModuleDict({str(z): o3.Linear(self.irreps_out, irreps_out[z]) for z in self.species})
        self.conserve_charge = conserve_charge
        for z in self.species:
            dim = basis.elements[z].dim
            self.register_buffer(f"shift_{z}", torch.zeros(dim))
            self.register_buffer(f"scale_{z}", torch.ones(dim))
            self.register_buffer(f"charge_{z}", torch.from_numpy(basis.electron_counts(z)), persistent=False)
            self.register_buffer(f"overlap_{z}", torch.from_numpy(basis.one_centre_overlap(z)).float(),
                                 persistent=False)

    # ------------------------------------------------------------------ normalisation
    def fit_normalisation(self, data_list: Sequence[Data], reference: dict[int, torch.Tensor] | None = None
                          ) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Set ``shift`` and ``scale`` of every element from training data. ``shift``: the mean
        of each 0e coefficient (zero for l > 0), or, with ``reference = {Z: coefficients of the
        free atom (dim,)}``, the free atom's 0e coefficients (a promolecule reference; its l > 0
        parts are dropped, which is the spherical average). ``scale``: the RMS of ``c - shift``
        per irrep, shared by its 2l+1 components. Returns {Z: (shift, scale)}."""
        blocks: dict[int, list[torch.Tensor]] = {z: [] for z in self.species}
        for d in data_list:
            for z, c in zip(d.z.tolist(), self.basis.split(d.coefficients, d.z.numpy()), strict=True):
                blocks[z].append(c.double())
        out = {}
        for z in self.species:
            if not blocks[z]:
                raise ValueError(f"no atom of Z={z} in the training data: cannot set its normalisation")
            if reference is not None and (z not in reference or reference[z].shape != (blocks[z][0].shape[0],)):
                raise ValueError(f"the reference needs coefficients ({blocks[z][0].shape[0]},) for Z={z}, "
                                 f"got {None if z not in reference else tuple(reference[z].shape)}")
            c = torch.stack(blocks[z])  # (n_atoms_z, dim)
            shift, scale = torch.zeros(c.shape[1], dtype=c.dtype), torch.ones(c.shape[1], dtype=c.dtype)
            start = 0
            for mul, ir in self.irreps_basis[z]:
                for _ in range(mul):
                    sl = slice(start, start + ir.dim)
                    if ir.l == 0:
                        shift[sl] = c[:, sl].mean(0) if reference is None else reference[z][sl].to(c.dtype)
                    rms = (c[:, sl] - shift[sl]).pow(2).mean().sqrt()
                    scale[sl] = rms if rms > 0 else 1.0
                    start += ir.dim
            getattr(self, f"shift_{z}").copy_(shift)
            getattr(self, f"scale_{z}").copy_(scale)
            out[z] = (shift.numpy(), scale.numpy())
        return out

    def promolecule(self, numbers: Sequence[int] | np.ndarray | torch.Tensor) -> torch.Tensor:
        """The baseline density: every atom's mean coefficients (``shift``), flat (K,) float64;
        a sum of spherical average atoms (only 0e functions are non-zero)."""
        numbers = np.asarray(numbers).reshape(-1)
        self.basis.check_numbers(numbers)
        return torch.cat([getattr(self, f"shift_{int(z)}").double() for z in numbers])

    # ------------------------------------------------------------------ forward
    def species_index(self, z: torch.Tensor) -> torch.Tensor:
        """Atomic numbers (N,) -> head index (N,); a clear error for an element without a basis."""
        self.basis.check_numbers(z.cpu().numpy())
        return self.species_onehot.index(z)

    def hidden_features(self, data: Data) -> torch.Tensor:
        """Hidden features (N, irreps_hidden.dim) after the interaction blocks (the backbone)."""
        self.species_index(data.z)  # a clear error for an element the basis lacks
        onehot = self.species_onehot(data.z, data.pos.dtype)
        return self.features(data, onehot, onehot)

    def forward(self, data: Data) -> torch.Tensor:
        """Flat coefficients (K,): each atom's block (its element's irreps) in atom order."""
        index = self.species_index(data.z)
        h = self.hidden_features(data)
        dims = self.dims[index]
        offsets = torch.cumsum(dims, 0) - dims
        out = h.new_zeros(int(dims.sum()))
        for e, z in enumerate(self.species):
            mask = index == e
            if not bool(mask.any()):
                continue
            y = self.heads[str(z)](h[mask])
            y = getattr(self, f"shift_{z}").to(y.dtype) + getattr(self, f"scale_{z}").to(y.dtype) * y
            cols = offsets[mask][:, None] + torch.arange(y.shape[1], device=y.device)
            out = out.index_put((cols.reshape(-1),), y.reshape(-1))
        if self.conserve_charge:
            out = self.charge_correction(out, data, index)
        return out

    # ------------------------------------------------------------------ per-coefficient tables
    def _per_coefficient(self, name: str, index: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
        """The buffers ``{name}_{Z}`` of every atom (species ``index`` (N,)), concatenated: (K,)."""
        tables = [getattr(self, f"{name}_{z}").to(dtype) for z in self.species]
        return torch.cat([tables[int(e)] for e in index.tolist()]) if len(index) else tables[0][:0]

    def coefficient_graph(self, data: Data, index: torch.Tensor) -> torch.Tensor:
        """The cluster (graph) of every coefficient (K,), from ``data.batch`` (0 without it)."""
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(len(index), dtype=torch.long, device=index.device)
        return torch.repeat_interleave(batch, self.dims[index])

    def n_electrons(self, data: Data) -> torch.Tensor:
        """Electron count of each cluster (B,): ``data.n_electrons`` if given, else the sum of
        the atomic numbers (a neutral cluster)."""
        batch = getattr(data, "batch", None)
        n_graphs = int(batch.max()) + 1 if batch is not None and len(batch) else 1
        given = getattr(data, "n_electrons", None)
        if given is not None:
            return given.reshape(-1).to(data.pos.dtype)
        graph = batch if batch is not None else torch.zeros_like(data.z)
        return torch.zeros(n_graphs, dtype=data.pos.dtype, device=data.pos.device).index_add_(
            0, graph, data.z.to(data.pos.dtype))

    def charge_correction(self, coefficients: torch.Tensor, data: Data, index: torch.Tensor) -> torch.Tensor:
        """``c + q (N - q . c) / (q . q)`` per cluster: the least change (Euclidean) of the 0e
        coefficients that makes each cluster hold exactly ``n_electrons(data)`` electrons."""
        c64 = coefficients.double()  # sums of ~1000 terms: float64, so the count is exact to 1e-5 e
        q = self._per_coefficient("charge", index, torch.float64)
        graph = self.coefficient_graph(data, index)
        n_target = self.n_electrons(data).double()
        n_pred = torch.zeros_like(n_target).index_add_(0, graph, q * c64)
        qq = torch.zeros_like(n_target).index_add_(0, graph, q * q)
        return (c64 + q * ((n_target - n_pred) / qq)[graph]).to(coefficients.dtype)

    def electron_count(self, coefficients: torch.Tensor, data: Data) -> torch.Tensor:
        """Electrons ``sum q . c`` of each cluster (B,) of a flat coefficient vector (K,)."""
        index = self.species_index(data.z)
        q = self._per_coefficient("charge", index, coefficients.dtype)
        graph = self.coefficient_graph(data, index)
        return torch.zeros(int(graph.max()) + 1 if len(graph) else 1, dtype=coefficients.dtype,
                           device=coefficients.device).index_add_(0, graph, q * coefficients)

    def overlap_norm2(self, delta: torch.Tensor, data: Data) -> torch.Tensor:
        """``sum_A dc_A^T S_A dc_A`` (scalar) of a flat coefficient difference (K,): the
        one-centre part of the squared L2 norm of the density difference (a.u.)."""
        index = self.species_index(data.z)
        dims = self.dims[index]
        offsets = torch.cumsum(dims, 0) - dims
        total = delta.new_zeros(())
        for e, z in enumerate(self.species):
            mask = index == e
            if not bool(mask.any()):
                continue
            cols = offsets[mask][:, None] + torch.arange(int(self.dims[e]), device=delta.device)
            block = delta[cols]  # (n_atoms_e, dim_e)
            total = total + torch.einsum("ai,ij,aj->", block, getattr(self, f"overlap_{z}").to(delta.dtype), block)
        return total


def coefficient_loss(model: DensityModel, batch: Data, metric: str = "euclidean"
                     ) -> tuple[torch.Tensor, dict[str, float]]:
    """The coefficient error of a batch, per coefficient (atomic units), and the RMS error as a
    metric. ``metric="euclidean"``: the mean squared error; ``"overlap"``: the error in the
    one-centre overlap metric, ``sum_A dc_A^T S_A dc_A / K`` (:meth:`DensityModel.overlap_norm2`)."""
    pred = model(batch)
    delta = pred - batch.coefficients
    mse = delta.pow(2).mean()
    if metric == "euclidean":
        loss = mse
    elif metric == "overlap":
        loss = model.overlap_norm2(delta, batch) / delta.numel()
    else:
        raise ValueError(f"metric must be 'euclidean' or 'overlap', got {metric!r}")
    return loss, {"rmse": float(mse.detach().sqrt())}


def train_density_model(model: DensityModel, train_data: Sequence[Data], valid_data: Sequence[Data], epochs: int,
                        lr: float = 1e-2, batch_size: int = 4, seed: int = 0, max_seconds: float | None = None,
                        metric: str = "euclidean", device: torch.device | str = "cpu", schedule: str = "cosine"):
    """Fit ``model`` with :func:`tutorial_utils.training.train` (AdamW, best validation weights
    kept) on :func:`coefficient_loss` with ``metric``, on ``device``; returns its ``History``.
    ``schedule="cosine"`` spans ``epochs``; ``"cosine_time"`` spans the wall-clock budget
    ``max_seconds`` (``epochs`` is then an upper bound)."""
    import functools

    from torch_geometric.loader import DataLoader

    from .training import train

    if not train_data or not valid_data:
        raise ValueError(f"need training and validation clusters, got {len(train_data)} and {len(valid_data)}")
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(list(train_data), batch_size=batch_size, shuffle=True, generator=generator)
    valid_loader = DataLoader(list(valid_data), batch_size=8)
    loss_fn = functools.partial(coefficient_loss, metric=metric)
    return train(model, loss_fn, train_loader, valid_loader, epochs=epochs, lr=lr, schedule=schedule,
                 seed=seed, max_seconds=max_seconds, device=device)


def split_training_pool(pool: Sequence[Cluster], n_valid: int = 15, max_molecules: int = 12,
                        seed: int = 0) -> tuple[list[Cluster], list[Cluster]]:
    """(train, valid): ``n_valid`` clusters of at most 7 molecules drawn with ``seed`` validate
    (the same ones whatever ``max_molecules``, so runs on different pools compare on one
    validation set); every other cluster of at most ``max_molecules`` trains."""
    small = [k for k, c in enumerate(pool) if c.n_molecules <= 7]
    if len(small) <= n_valid:
        raise ValueError(f"need more than {n_valid} clusters of at most 7 molecules to validate, have {len(small)}")
    valid_idx = set(np.random.default_rng(seed).permutation(small)[:n_valid].tolist())
    train = [c for k, c in enumerate(pool) if k not in valid_idx and c.n_molecules <= max_molecules]
    return train, [pool[k] for k in sorted(valid_idx)]


def build_density_model(basis: BasisSet, train_data: Sequence[Data], atoms: dict[int, torch.Tensor] | None = None,
                        conserve_charge: bool = True, **hparams) -> DensityModel:
    """Notebook 05's model (``DENSITY_HPARAMS``, overridden by ``hparams``) with its neighbour
    count and normalisation fitted to ``train_data``; ``atoms`` (free-atom coefficients, from
    :func:`tutorial_utils.density.load_free_atoms`) sets the promolecule reference."""
    hp = {**DENSITY_HPARAMS, **hparams}
    model = DensityModel(basis, avg_num_neighbors=average_num_neighbors(train_data), conserve_charge=conserve_charge,
                         **hp)
    model.fit_normalisation(train_data, reference=atoms)
    return model


def pretrained(device: str | torch.device = "cpu") -> DensityModel:
    """The density model shipped with notebook 05 (``data/water/water_density_model.pt``, made by
    ``data/water/train_density.py`` with ``DENSITY_HPARAMS`` and ``DENSITY_TRAIN``; its settings
    and held-out errors are in ``water_density_model.json``): a ``state_dict`` loaded with
    ``weights_only=True``, in evaluation mode on ``device``. The basis comes from the free-atom
    file (``water_atoms``), which stores the same def2-universal-jfit basis as the clusters."""
    from .data import fetch

    with np.load(fetch("water_atoms"), allow_pickle=False) as f:
        basis = BasisSet.from_arrays(f)
    model = DensityModel(basis, conserve_charge=bool(DENSITY_TRAIN["conserve_charge"]), **DENSITY_HPARAMS)
    model.load_state_dict(torch.load(fetch("water_density_model"), weights_only=True, map_location=device))
    return model.to(device).eval()


def held_out_errors(model: DensityModel, clusters: Sequence[Cluster], basis: BasisSet,
                    device: torch.device | str | None = None) -> list[dict[str, float]]:
    """One row per cluster: its ``n_molecules``, the model's ``eps_model`` against the fitted
    density (a fraction, :func:`tutorial_utils.density.density_errors`), the electron-count error
    ``d_electrons`` (e) and the dipole error ``d_dipole`` (e Å, against the DFT dipole)."""
    from .density import density_errors

    preds = predict_coefficients(model, clusters_to_data(clusters, model.r_max), device=device)
    rows = []
    for c, p in zip(clusters, preds, strict=True):
        r = density_errors(c, {"model": p}, basis)
        rows.append(dict(n_molecules=c.n_molecules, eps_model=float(r["eps_model"]),
                         d_electrons=float(r["n_model"] - r["n_electrons"]),
                         d_dipole=float(np.linalg.norm(r["dipole_model"] - c.dipole.numpy()))))
    return rows


@torch.no_grad()
def predict_coefficients(model: DensityModel, data_list: Sequence[Data],
                         device: torch.device | str | None = None) -> list[torch.Tensor]:
    """Predicted flat coefficients of each cluster, float64 on the CPU, one tensor (K_i,) per
    cluster, computed on ``device`` (the model is moved there; ``None``: the model's device)."""
    from .runtime import move_data, move_model

    model.eval()
    device = move_model(model, device)
    return [model(move_data(d, device)).double().cpu() for d in data_list]

