"""Graphs, losses, training and prediction for the tensor models of notebook 07, and ``pretrained()``.

Units: distances Å, dielectric tensors dimensionless, elastic tensors GPa.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn
from torch_geometric.data import Data

from ..graphs import structure_to_data
from ..nn import average_num_neighbors
from .data import TensorRecord
from .model import CartesianNet, TensorNet
from .targets import DIELECTRIC, ELASTIC, ELASTIC_SCALE, anisotropic_part, dielectric_from_log, log_susceptibility

__all__ = ["DIELECTRIC_SPECIES", "KINDS", "MODEL_HPARAMS", "SPLIT", "TRAIN_HPARAMS", "build_model",
           "dielectric_graphs", "dielectric_loss", "elastic_graphs", "elastic_loss", "predict_dielectric",
           "predict_elastic", "pretrained", "split_records", "train_model"]

#: The architecture of notebook 07 (and of the shipped weights); r_max in Å.
MODEL_HPARAMS: dict = dict(r_max=5.0, l_max=2, mul=16, mul_vec=8, num_layers=2, num_basis=8, radial_hidden=32)
#: Optimisation: AdamW with a cosine schedule over ``epochs`` (about 1 CPU second each for the
#: 739 training crystals, so notebook 07's nine runs take about 4 CPU minutes), batches of 16
#: crystals, a wall-time cap ``max_seconds`` per run for a busy machine; ``aniso_weight`` weighs
#: the anisotropic term of :func:`dielectric_loss` (1: chosen on the validation set against 0.3
#: and 3, two seeds each).
TRAIN_HPARAMS: dict = dict(lr=5e-3, weight_decay=0.0, batch_size=16, epochs=24, max_seconds=45.0, aniso_weight=1.0)

KINDS = ("equivariant", "isotropic", "cartesian", "elastic")
SPLIT = (0.7, 0.1, 0.2)  # train, valid, test fractions of notebook 07 (and of the shipped weights)


def split_records(records: Sequence[TensorRecord], fractions: tuple[float, float, float] = SPLIT,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Train/valid/test indices with every element of the data in training where possible
    (:func:`tutorial_utils.phonons.element_stratified_split`), sorted."""
    from ..phonons.split import element_stratified_split

    element_sets = [{int(site.specie.Z) for site in r.structure} for r in records]
    return element_stratified_split(element_sets, fractions, seed=seed)


def dielectric_graphs(records: Sequence[TensorRecord], r_max: float) -> list[Data]:
    """Periodic radius graphs of the crystals with their targets: ``eps`` (1, 3, 3), the
    learned ``y_log = log(eps - 1)`` as a matrix (1, 3, 3) and as irreps ``y`` (1, 6)."""
    graphs = []
    for r in records:
        eps = torch.as_tensor(np.asarray(r.tensor), dtype=torch.float64).view(1, 3, 3)
        L = log_susceptibility(eps)
        dtype = torch.get_default_dtype()
        graphs.append(structure_to_data(r.structure, r_max, eps=eps.to(dtype), y_log=L.to(dtype),
                                        y=DIELECTRIC.to_irreps(L).to(dtype)))
    return graphs


def elastic_graphs(records: Sequence[TensorRecord], r_max: float) -> list[Data]:
    """Periodic radius graphs with the elastic tensor ``C`` (1, 3, 3, 3, 3) in GPa and the learned
    irreps ``y = irreps(C / ELASTIC_SCALE)`` (1, 21)."""
    graphs = []
    for r in records:
        C = torch.as_tensor(np.asarray(r.tensor), dtype=torch.float64).view(1, 3, 3, 3, 3)
        dtype = torch.get_default_dtype()
        graphs.append(structure_to_data(r.structure, r_max, C=C.to(dtype),
                                        y=ELASTIC.to_irreps(C / ELASTIC_SCALE, check=False).to(dtype)))
    return graphs


def build_model(kind: str, species: Sequence[int], train_graphs: Sequence[Data], seed: int = 0,
                **hparams) -> nn.Module:
    """A fresh model of ``kind`` with its neighbour normalisation and its offset (the mean
    training target) set from ``train_graphs``:

    * ``"equivariant"``: :class:`TensorNet` with output ``1x0e + 1x2e`` (the dielectric tensor);
    * ``"isotropic"``: :class:`TensorNet` predicting the ``0e`` part only (the trace);
    * ``"cartesian"``: :class:`CartesianNet` (9 numbers from invariants and the raw cell);
    * ``"elastic"``: :class:`TensorNet` with output ``2x0e + 2x2e + 1x4e``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; choose one of {KINDS}")
    unknown = set(hparams) - set(MODEL_HPARAMS)
    if unknown:
        raise TypeError(f"unknown hyperparameter(s) {sorted(unknown)}; choose from {sorted(MODEL_HPARAMS)}")
    if not train_graphs:
        raise ValueError("build_model needs at least one training crystal")
    hp = {**MODEL_HPARAMS, **hparams}
    torch.manual_seed(seed)
    n_avg = average_num_neighbors(train_graphs)
    model: nn.Module
    with torch.no_grad():
        if kind == "cartesian":
            model = CartesianNet(species, avg_num_neighbors=n_avg, **hp)
            model.offset.copy_(torch.cat([g.y_log for g in train_graphs]).mean(0))
            return model
        irreps = str(ELASTIC.irreps) if kind == "elastic" else str(DIELECTRIC.irreps)
        model = TensorNet(species, irreps_out=irreps, avg_num_neighbors=n_avg, isotropic=kind == "isotropic", **hp)
        mean = torch.cat([g.y for g in train_graphs]).mean(0)
        scalars = torch.cat([torch.full((mul * ir.dim,), ir.l == 0) for mul, ir in model.irreps_target])
        model.offset.copy_(torch.where(scalars, mean, torch.zeros_like(mean)))  # only scalars have a mean
    return model


def _log_matrix(model: nn.Module, batch: Data) -> torch.Tensor:
    """The predicted ``L = log(eps - 1)`` (B, 3, 3) of either kind of dielectric model."""
    out = model(batch)
    return out if out.dim() == 3 else DIELECTRIC.to_cartesian(out)


def dielectric_loss(aniso_weight: float = 1.0):
    """``loss = < |L_pred - L|_F^2 > + aniso_weight * < |A(eps_pred) - A(eps)|_F >`` over the batch:
    the squared error of the log tensor (relative errors over the whole range of eps) plus the
    (not squared) Frobenius error of the anisotropic part of eps itself (the metric reported),
    which a squared loss would let the few crystals with eps near 260 dominate. Returns
    ``loss_fn(model, batch) -> (loss, metrics)`` for :func:`tutorial_utils.training.train`."""
    def loss_fn(model: nn.Module, batch: Data) -> tuple[torch.Tensor, dict[str, float]]:
        L = _log_matrix(model, batch)
        log_term = ((L - batch.y_log) ** 2).sum(dim=(-2, -1)).mean()
        aniso = anisotropic_part(dielectric_from_log(L)) - anisotropic_part(batch.eps)
        aniso_term = torch.linalg.matrix_norm(aniso).mean()
        loss = log_term + aniso_weight * aniso_term
        return loss, {"log_mse": float(log_term.detach()), "aniso_mae": float(aniso_term.detach())}
    return loss_fn


def elastic_loss(model: nn.Module, batch: Data) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean squared error of the irreps of ``C / 100 GPa`` (= the squared Frobenius norm of the
    error of the 81 components ``C_ijkl``, the basis being orthonormal)."""
    err = ((model(batch) - batch.y) ** 2).sum(-1).mean()
    return err, {"frobenius_rmse_GPa": float(err.detach().sqrt()) * ELASTIC_SCALE}


def train_model(model: nn.Module, loss_fn, train_graphs: Sequence[Data], valid_graphs: Sequence[Data],
                epochs: int, max_seconds: float | None = None, seed: int = 0, lr: float = TRAIN_HPARAMS["lr"],
                weight_decay: float = TRAIN_HPARAMS["weight_decay"], batch_size: int = TRAIN_HPARAMS["batch_size"],
                device: torch.device | str = "cpu"):
    """Train with :func:`tutorial_utils.training.train` (AdamW, cosine schedule over ``epochs``, the
    weights of the best validation epoch kept, stopped at ``max_seconds`` of wall time); returns
    its ``History``. The batches are shuffled with ``seed``; the model and batches live on ``device``."""
    from torch_geometric.loader import DataLoader

    from ..training import train

    if not train_graphs or not valid_graphs:
        raise ValueError(f"need training and validation crystals, got {len(train_graphs)} and {len(valid_graphs)}")
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(list(train_graphs), batch_size=batch_size, shuffle=True, generator=generator)
    valid_loader = DataLoader(list(valid_graphs), batch_size=64)
    return train(model, loss_fn, train_loader, valid_loader, epochs=epochs, lr=lr, weight_decay=weight_decay,
                 schedule="cosine", seed=seed, max_seconds=max_seconds, device=device)


@torch.no_grad()
def predict_dielectric(model: nn.Module, graphs: Sequence[Data], batch_size: int = 64,
                       device: torch.device | str | None = None) -> np.ndarray:
    """Predicted dielectric tensors (M, 3, 3), float64 on the CPU, computed in evaluation mode on
    ``device`` (the model is moved there; ``None``: the model's device)."""
    from torch_geometric.loader import DataLoader

    from ..runtime import move_model

    model.eval()
    device = move_model(model, device)
    out = [dielectric_from_log(_log_matrix(model, b.to(device)).double()).cpu()
           for b in DataLoader(list(graphs), batch_size=batch_size)]
    return torch.cat(out).numpy()


@torch.no_grad()
def predict_elastic(model: nn.Module, graphs: Sequence[Data], batch_size: int = 64,
                    device: torch.device | str | None = None) -> np.ndarray:
    """Predicted elastic tensors ``C_ijkl`` (M, 3, 3, 3, 3) in GPa, float64 on the CPU, computed on
    ``device`` (the model is moved there; ``None``: the model's device)."""
    from torch_geometric.loader import DataLoader

    from ..runtime import move_model

    model.eval()
    device = move_model(model, device)
    out = [ELASTIC.to_cartesian(model(b.to(device)).double().cpu()) * ELASTIC_SCALE
           for b in DataLoader(list(graphs), batch_size=batch_size)]
    return torch.cat(out).numpy()


#: The 63 elements of the dielectric data set (all 1056 crystals): the species of the shipped model.
DIELECTRIC_SPECIES: tuple[int, ...] = (
    1, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 15, 16, 17, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33,
    34, 35, 37, 38, 39, 40, 41, 42, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 55, 56, 57, 72, 73, 74, 75, 76, 77, 78,
    79, 80, 81, 82, 83)


def pretrained(device: str | torch.device = "cpu") -> TensorNet:
    """The equivariant dielectric model shipped with notebook 07 (``data/tensors/dielectric_model.pt``,
    made by ``data/tensors/train_dielectric.py`` with ``MODEL_HPARAMS`` on the notebook's split;
    its settings and held-out errors are in ``dielectric_model.json``): a ``state_dict`` loaded
    with ``weights_only=True``, in evaluation mode on ``device``. It predicts ``log(eps - 1)`` as
    irreps; :func:`predict_dielectric` turns that into ``eps``."""
    from ..data import fetch

    state = torch.load(fetch("dielectric_model"), weights_only=True, map_location=device)
    model = TensorNet(DIELECTRIC_SPECIES, irreps_out=str(DIELECTRIC.irreps), **MODEL_HPARAMS)
    model.load_state_dict(state)
    return model.to(device).eval()
