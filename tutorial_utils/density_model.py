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
3. ``c = shift + scale * head(h)``: ``shift`` is the mean coefficient of that element in the
   training data (non-zero only for ``0e`` functions: the mean of a ``l > 0`` irrep over
   orientations is zero) and ``scale`` its spread per irrep (one number per ``2l+1`` block, so
   that the output stays equivariant). Both are buffers set by :meth:`DensityModel.fit_normalisation`.

The output of a batch is one flat vector: every atom's block in atom order, the layout of the
data files. Loss: the mean squared coefficient error, each coefficient weighted by one (the basis
functions have unit norm, so this approximates the squared L2 error of the density).

Units: positions Å, coefficients atomic units (as in the data files).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from e3nn import o3
from torch import nn
from torch_geometric.data import Data

from .density import BasisSet, Cluster
from .graphs import radius_graph
from .nn import EquivariantBackbone, SpeciesOneHot, average_num_neighbors

__all__ = ["DENSITY_HPARAMS", "DensityModel", "average_num_neighbors", "clusters_to_data", "coefficient_loss",
           "predict_coefficients", "train_density_model"]

DENSITY_HPARAMS = dict(r_max=3.5, num_layers=3, irreps_hidden="32x0e+16x1o+12x2e+6x3o+6x4e", l_max_sh=3,
                       num_basis=8, radial_hidden=32)


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
    """

    dims: torch.Tensor  # (S,) coefficients per atom of each species

    def __init__(self, basis: BasisSet, r_max: float = 3.5, num_layers: int = 3,
                 irreps_hidden: str | o3.Irreps = DENSITY_HPARAMS["irreps_hidden"], l_max_sh: int = 3,
                 num_basis: int = 8, radial_hidden: int = 32, avg_num_neighbors: float = 6.0) -> None:
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
        for z in self.species:
            dim = basis.elements[z].dim
            self.register_buffer(f"shift_{z}", torch.zeros(dim))
            self.register_buffer(f"scale_{z}", torch.ones(dim))

    # ------------------------------------------------------------------ normalisation
    def fit_normalisation(self, data_list: Sequence[Data]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Set ``shift`` (mean of each 0e coefficient, zero for l > 0) and ``scale`` (RMS
        deviation per irrep, shared by its 2l+1 components) of every element from training
        data. Returns {Z: (shift, scale)}."""
        blocks: dict[int, list[torch.Tensor]] = {z: [] for z in self.species}
        for d in data_list:
            for z, c in zip(d.z.tolist(), self.basis.split(d.coefficients, d.z.numpy()), strict=True):
                blocks[z].append(c.double())
        out = {}
        for z in self.species:
            if not blocks[z]:
                raise ValueError(f"no atom of Z={z} in the training data: cannot set its normalisation")
            c = torch.stack(blocks[z])  # (n_atoms_z, dim)
            shift, scale = torch.zeros(c.shape[1], dtype=c.dtype), torch.ones(c.shape[1], dtype=c.dtype)
            start = 0
            for mul, ir in self.irreps_basis[z]:
                for _ in range(mul):
                    sl = slice(start, start + ir.dim)
                    if ir.l == 0:
                        shift[sl] = c[:, sl].mean(0)
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
        return out


def coefficient_loss(model: DensityModel, batch: Data) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean squared coefficient error (atomic units) over the batch, and its root as a metric."""
    pred = model(batch)
    mse = (pred - batch.coefficients).pow(2).mean()
    return mse, {"rmse": float(mse.detach().sqrt())}


def train_density_model(model: DensityModel, train_data: Sequence[Data], valid_data: Sequence[Data], epochs: int,
                        lr: float = 1e-2, batch_size: int = 4, seed: int = 0, max_seconds: float | None = None):
    """Fit ``model`` with :func:`tutorial_utils.training.train` (AdamW, cosine schedule, best
    validation weights kept); returns its ``History``."""
    from torch_geometric.loader import DataLoader

    from .training import train

    if not train_data or not valid_data:
        raise ValueError(f"need training and validation clusters, got {len(train_data)} and {len(valid_data)}")
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(list(train_data), batch_size=batch_size, shuffle=True, generator=generator)
    valid_loader = DataLoader(list(valid_data), batch_size=8)
    return train(model, coefficient_loss, train_loader, valid_loader, epochs=epochs, lr=lr, schedule="cosine",
                 seed=seed, max_seconds=max_seconds)


@torch.no_grad()
def predict_coefficients(model: DensityModel, data_list: Sequence[Data]) -> list[torch.Tensor]:
    """Predicted flat coefficients of each cluster, float64, one tensor (K_i,) per cluster."""
    model.eval()
    return [model(d).double() for d in data_list]

