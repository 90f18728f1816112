"""Radial embedding of an edge length: a Bessel basis times a smooth polynomial cutoff.

Units: edge lengths ``r`` in Å; outputs are dimensionless (the Bessel basis carries
``1/sqrt(Å)`` normalisation, as in NequIP).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["BesselBasis", "PolynomialCutoff"]


class BesselBasis(nn.Module):
    r"""``num_basis`` Bessel functions of the edge length:
    :math:`b_n(r) = \sqrt{2 / r_{max}}\, \sin(n \pi r / r_{max}) / r`, ``n = 1 .. num_basis``.

    The frequencies ``n pi / r_max`` start there and are trained (as in NequIP).
    Input ``r`` (E,) in Å; output (E, num_basis).
    """

    def __init__(self, r_max: float, num_basis: int = 8, trainable: bool = True) -> None:
        super().__init__()
        self.r_max = float(r_max)
        freqs = math.pi / self.r_max * torch.arange(1, num_basis + 1, dtype=torch.get_default_dtype())
        self.freqs = nn.Parameter(freqs, requires_grad=trainable)
        self.prefactor = math.sqrt(2.0 / self.r_max)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        r = r.unsqueeze(-1)
        return self.prefactor * torch.sin(self.freqs * r) / r


class PolynomialCutoff(nn.Module):
    r"""Smooth cutoff :math:`f(u) = 1 - \frac{(p+1)(p+2)}{2} u^p + p(p+2) u^{p+1}
    - \frac{p(p+1)}{2} u^{p+2}` with ``u = r / r_max`` (zero for ``u >= 1``).

    ``f(1) = f'(1) = f''(1) = 0``: an atom crossing the cutoff sphere changes the energy and the
    forces continuously, which keeps molecular dynamics energy-conserving. Input (E,) Å, output (E,).
    """

    def __init__(self, r_max: float, p: int = 6) -> None:
        super().__init__()
        if p < 2:
            raise ValueError(f"the cutoff exponent p must be at least 2 for smooth forces, got {p}")
        self.r_max = float(r_max)
        self.p = int(p)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        p, u = self.p, r / self.r_max
        f = (1.0 - 0.5 * (p + 1) * (p + 2) * u**p + p * (p + 2) * u ** (p + 1)
             - 0.5 * p * (p + 1) * u ** (p + 2))
        return f * (u < 1.0)

