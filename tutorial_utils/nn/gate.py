"""Hidden irreps and the gated nonlinearity that keeps them equivariant."""

from __future__ import annotations

import torch
from e3nn import o3
from e3nn.nn import Gate

__all__ = ["gate_for", "hidden_irreps"]


def hidden_irreps(mul: int, l_max: int, parity: bool = False) -> o3.Irreps:
    """Features carried between blocks: ``mul`` copies of every ``l <= l_max``.

    ``parity=False``: only the parity a polar vector field produces, ``(-1)^l``
    (``0e + 1o + 2e``); ``parity=True``: both parities (``0e + 0o + 1o + 1e + ...``).
    """
    if l_max < 0:
        raise ValueError(f"l_max must be 0 or more, got {l_max}")
    irreps = []
    for l in range(l_max + 1):
        for p in ((1, -1) if parity else ((-1) ** l,)):
            irreps.append((mul, (l, p)))
    return o3.Irreps(irreps).sort().irreps.simplify()


def gate_for(irreps_hidden: o3.Irreps) -> Gate:
    """A gated nonlinearity producing ``irreps_hidden``: scalars pass through SiLU (even) or tanh
    (odd, keeping them odd); every ``l > 0`` irrep is multiplied by sigmoid(one extra even scalar)."""
    scalars = o3.Irreps([(mul, ir) for mul, ir in irreps_hidden if ir.l == 0])
    gated = o3.Irreps([(mul, ir) for mul, ir in irreps_hidden if ir.l > 0])
    acts = [torch.nn.functional.silu if ir.p == 1 else torch.tanh for _, ir in scalars]
    gates = o3.Irreps([(mul, "0e") for mul, _ in gated])
    return Gate(scalars, acts, gates, [torch.sigmoid] * len(gates), gated)
