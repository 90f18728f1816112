"""What the networks learn: property tensors as irreps, scaled so that a loss makes sense.

**Dielectric tensor.** The electronic permittivity ``eps_inf`` of the data ranges from 1.6 to
about 260 (mean eigenvalue). The networks learn ``L = log(eps - 1)``, the *matrix* logarithm of
the electronic susceptibility ``chi = eps - 1`` (symmetric and positive definite), and predict
``eps = 1 + exp(L)``:

* the logarithm compresses the range (``L`` of order one for every crystal), so a squared loss
  on ``L`` measures *relative* errors and a few crystals with ``eps`` near 260 do not dominate;
* ``exp`` of a symmetric matrix is symmetric and positive definite, so every prediction is a
  physical tensor (all eigenvalues above 1);
* the matrix logarithm commutes with rotations, ``log(R chi R^T) = R log(chi) R^T``, so ``L``
  is a symmetric tensor with the same irreps ``1x0e + 1x2e`` as ``eps``: an equivariant network
  can output it directly.

**Elastic tensor.** ``C_ijkl`` in GPa divided by :data:`ELASTIC_SCALE` (100 GPa), as the
``2x0e + 2x2e + 1x4e`` irreps of e3nn's ``ReducedTensorProducts("ijkl=jikl=ijlk=klij")``.
"""

from __future__ import annotations

import numpy as np
import torch

from ..tensors import TensorIrreps

__all__ = ["DIELECTRIC", "ELASTIC", "ELASTIC_SCALE", "anisotropic_part", "dielectric_from_log", "log_susceptibility",
           "voigt_moduli"]

DIELECTRIC = TensorIrreps("ij=ji")
"""A symmetric 3x3 tensor: ``1x0e + 1x2e`` (6 components)."""

ELASTIC = TensorIrreps("ijkl=jikl=ijlk=klij")
"""The elastic tensor: ``2x0e + 2x2e + 1x4e`` (21 components)."""

ELASTIC_SCALE = 100.0  # GPa: elastic tensors are learned in units of 100 GPa


def _sym_eigh(M: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.linalg.eigh(0.5 * (M + M.transpose(-1, -2)))


def log_susceptibility(eps: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``L = log(eps - 1)`` (matrix logarithm) of symmetric dielectric tensors (..., 3, 3), float64.

    Raises ``ValueError`` when an eigenvalue of ``eps`` is not above 1 (the electronic
    permittivity of an insulator is larger than 1 in every direction)."""
    e = torch.as_tensor(np.asarray(eps, dtype=np.float64) if isinstance(eps, np.ndarray) else eps).double()
    if e.shape[-2:] != (3, 3):
        raise ValueError(f"dielectric tensors need shape (..., 3, 3), got {tuple(e.shape)}")
    w, V = _sym_eigh(e - torch.eye(3, dtype=e.dtype))
    if bool((w <= 0).any()):
        raise ValueError(f"a dielectric tensor has an eigenvalue {float(w.min()) + 1:.4g} <= 1; eps - 1 must be "
                         "positive definite")
    return (V * torch.log(w).unsqueeze(-2)) @ V.transpose(-1, -2)


def dielectric_from_log(L: torch.Tensor) -> torch.Tensor:
    """``eps = 1 + exp(L)`` (matrix exponential, differentiable): (..., 3, 3) -> (..., 3, 3).

    A symmetric ``L`` gives a symmetric positive-definite ``eps - 1``; a general 3x3 ``L``
    (the plain baseline's output) gives a general matrix."""
    return torch.eye(3, dtype=L.dtype, device=L.device) + torch.linalg.matrix_exp(L)


def anisotropic_part(T: torch.Tensor | np.ndarray) -> torch.Tensor | np.ndarray:
    """``T - tr(T)/3 * 1``: the traceless part of 3x3 matrices (..., 3, 3) (the ``2e`` part of a
    symmetric tensor; the antisymmetric part of a general matrix stays in it)."""
    if isinstance(T, np.ndarray):
        return T - np.trace(T, axis1=-2, axis2=-1)[..., None, None] / 3 * np.eye(3)
    trace = torch.diagonal(T, dim1=-2, dim2=-1).sum(-1)
    return T - trace[..., None, None] / 3 * torch.eye(3, dtype=T.dtype, device=T.device)


def voigt_moduli(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Voigt bulk and shear moduli (GPa) of elastic tensors ``C_ijkl`` (..., 3, 3, 3, 3) in GPa:
    ``K_V = C_iijj / 9`` and ``G_V = (3 C_ijij - C_iijj) / 30``, the two rotation invariants
    that are linear in ``C`` (the average over orientations of a single crystal)."""
    C = np.asarray(C, dtype=np.float64)
    if C.shape[-4:] != (3, 3, 3, 3):
        raise ValueError(f"elastic tensors need shape (..., 3, 3, 3, 3), got {C.shape}")
    iijj = np.einsum("...iijj->...", C)
    ijij = np.einsum("...ijij->...", C)
    return iijj / 9, (3 * ijij - iijj) / 30
