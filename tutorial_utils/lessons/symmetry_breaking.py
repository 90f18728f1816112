"""Symmetry breaking with an equivariant network (notebook 01).

Curie's principle, made computable: an E(3)-equivariant map from a point set to per-point
displacements cannot lower the symmetry of its input, so it cannot deform a square into a
rectangle. Given an extra learnable input ``phi`` (a global feature with irreps of both parities
up to ``l = 2``), gradient descent finds the *symmetry-breaking order parameter* that the task
needs, and the components of ``phi`` that become nonzero say which symmetry was broken
(Smidt, Geiger and Miller, Phys. Rev. Research 3, L012002 (2021)).

The data are two sets of four points (dimensionless lengths, the square's side is 1):

* ``square()``: corners ``(+-1/2, +-1/2, 0)``, point group D4h (16 operations);
* ``rectangle(a, b)``: corners ``(+-a, +-b, 0)`` in the same order, point group D2h (8).
"""

from __future__ import annotations

import math
import time

import torch
from e3nn import o3
from e3nn.nn import FullyConnectedNet

from tutorial_utils.nn.gate import gate_for, hidden_irreps
from tutorial_utils.nn.radial import BesselBasis
from tutorial_utils.symmetry import default_dtype

__all__ = [
    "IRREPS_PHI",
    "Deformer",
    "best_square_loss",
    "fit_deformer",
    "rectangle",
    "square",
]

# every irrep up to l = 2 with both parities: the order parameter may be any of them
IRREPS_PHI = "0e + 0o + 1o + 1e + 2e + 2o"


def square(dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Corners of the unit square in the xy plane, (4, 3), in the order of :func:`rectangle`."""
    return rectangle(0.5, 0.5, dtype)


def rectangle(a: float, b: float, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Corners ``(+-a, +-b, 0)`` (4, 3): corner k of the rectangle is the image of corner k of
    the square under the stretch ``diag(2a, 2b, 1)``."""
    if a <= 0 or b <= 0:
        raise ValueError(f"half-sides a and b must be positive, got a={a}, b={b}")
    signs = torch.tensor([[1.0, 1.0], [-1.0, 1.0], [-1.0, -1.0], [1.0, -1.0]], dtype=dtype)
    xy = signs * torch.tensor([a, b], dtype=dtype)
    return torch.cat([xy, torch.zeros(4, 1, dtype=dtype)], dim=1)


def best_square_loss(a: float, b: float) -> float:
    """The smallest mean squared error (per coordinate) between a square ``(+-s, +-s, 0)`` and
    the rectangle ``(+-a, +-b, 0)``: at ``s = (a + b) / 2`` it is ``2 ((a - b) / 2)^2 / 3``.

    Any output of a D4h-equivariant deformation of the square is such a square (each corner
    may only move along its diagonal), so no weights can do better than this."""
    return 2.0 * ((a - b) / 2.0) ** 2 / 3.0


class Deformer(torch.nn.Module):
    """An E(3)-equivariant network: points pos (N, 3) -> displacements (N, 3) (irreps ``1o``).

    Every point starts with the scalar 1, concatenated with the global input ``phi``
    (``irreps_phi``, the same on every point; a trained parameter, zero at the start).
    ``num_layers`` tensor-product convolutions over all pairs of points follow: the message
    ``j -> i`` is ``TP(h_j, Y(r_ij); w(|r_ij|))`` with weights from a radial MLP of Bessel
    functions, summed over ``j``; hidden layers carry ``hidden_irreps(mul, l_max, parity=True)``
    through a gate, the last one outputs one vector per point.

    ``irreps_phi=None`` gives the same network with no such input: a model of the square alone.
    The network is built in ``dtype`` (float64 by default): e3nn computes its Clebsch-Gordan
    coefficients in the default dtype, so a float32-built model stays equivariant only to ~1e-9
    even after ``.double()``.
    """

    def __init__(self, irreps_phi: str | None = IRREPS_PHI, mul: int = 8, l_max: int = 2,
                 num_layers: int = 3, num_basis: int = 8, r_max: float = 2.0,
                 dtype: torch.dtype = torch.float64) -> None:
        super().__init__()
        with default_dtype(dtype):
            self._build(irreps_phi, mul, l_max, num_layers, num_basis, r_max)
        self.to(dtype)

    def _build(self, irreps_phi: str | None, mul: int, l_max: int, num_layers: int, num_basis: int,
               r_max: float) -> None:
        self.irreps_phi = o3.Irreps(irreps_phi) if irreps_phi else o3.Irreps("")
        self.phi = torch.nn.Parameter(torch.zeros(self.irreps_phi.dim))
        self.phi.requires_grad_(self.irreps_phi.dim > 0)
        self.irreps_sh = o3.Irreps.spherical_harmonics(l_max)
        self.radial = BesselBasis(r_max, num_basis, trainable=False)
        irreps = (o3.Irreps("0e") + self.irreps_phi).simplify()
        self.irreps_in = irreps
        self.tps, self.mlps, self.gates = torch.nn.ModuleList(), torch.nn.ModuleList(), torch.nn.ModuleList()
        for layer in range(num_layers):
            last = layer == num_layers - 1
            if last:
                irreps_out, gate = o3.Irreps("1o"), None
            else:
                gate = gate_for(hidden_irreps(mul, l_max, parity=True))
                irreps_out = gate.irreps_in
            tp = o3.FullyConnectedTensorProduct(irreps, self.irreps_sh, irreps_out, shared_weights=False)
            self.tps.append(tp)
            self.mlps.append(FullyConnectedNet([num_basis, 16, tp.weight_numel], torch.nn.functional.silu))
            if gate is not None:
                self.gates.append(gate)
                irreps = gate.irreps_out

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        """pos (N, 3) -> displacement of every point (N, 3), in the units of pos."""
        if pos.ndim != 2 or pos.shape[1] != 3:
            raise ValueError(f"pos must have shape (N, 3), got {tuple(pos.shape)}")
        n = pos.shape[0]
        j, i = torch.triu_indices(n, n, offset=1, device=pos.device)
        j, i = torch.cat([j, i]), torch.cat([i, j])   # every ordered pair j -> i, i != j
        vec = pos[j] - pos[i]
        sh = o3.spherical_harmonics(self.irreps_sh, vec, normalize=True, normalization="component")
        radial = self.radial(vec.norm(dim=1))
        h = torch.cat([pos.new_ones(n, 1), self.phi.to(pos.dtype).expand(n, -1)], dim=1)
        for k, (tp, mlp) in enumerate(zip(self.tps, self.mlps, strict=True)):
            messages = tp(h[j], sh, mlp(radial))
            h = messages.new_zeros(n, messages.shape[1]).index_add_(0, i, messages) / math.sqrt(n - 1)
            if k < len(self.gates):
                h = self.gates[k](h)
        return h


def fit_deformer(model: Deformer, start: torch.Tensor, target: torch.Tensor, steps: int,
                 lr: float = 0.1, momentum: float = 0.9,
                 device: torch.device | str | None = None) -> dict[str, list[float] | float]:
    """Minimise the mean squared error between ``start + model(start)`` and ``target`` (both
    (N, 3)) by gradient descent with momentum over the weights and ``phi`` for ``steps`` steps,
    the learning rate decaying on a cosine.

    Plain gradient descent keeps ``phi`` in the subspace its gradient lies in. Adam would not:
    it divides each component by its own running size, so components that are zero up to
    round-off (1e-17) get steps as large as the real ones, and the symmetry breaks by noise.

    With ``device`` the fit runs there and the model is moved back to the device of ``start``
    afterwards. Returns ``{"loss": loss per step, "seconds": wall time}``."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    home = start.device
    if device is not None:
        model.to(device)
        start, target = start.to(device), target.to(device)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=lr, momentum=momentum)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    losses, t0 = [], time.perf_counter()
    for _ in range(steps):
        loss = (start + model(start) - target).pow(2).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        losses.append(float(loss.detach()))
    result: dict[str, list[float] | float] = {"loss": losses, "seconds": time.perf_counter() - t0}
    if device is not None:
        model.to(home)
    return result
