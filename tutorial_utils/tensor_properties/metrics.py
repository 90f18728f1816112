"""How good a predicted dielectric tensor is, and how to summarise seeds.

For true and predicted tensors ``eps`` (M, 3, 3) (a prediction need not be symmetric: the
plain baseline's is not):

* **mean eigenvalue** ``tr(eps)/3`` (the orientation average, the ``0e`` part): its MAE;
* **anisotropic part** ``eps - tr(eps)/3 * 1`` (the ``2e`` part, plus any antisymmetric part of a
  prediction): the MAE of the Frobenius norm of its error, ``< |A_pred - A_true|_F >``;
* **anisotropy ratio** ``lambda_max / lambda_min`` of the symmetric part: its MAE;
* **principal axis**: the eigenvector whose eigenvalue lies farthest from the mean eigenvalue
  (the optic axis of a uniaxial crystal); the angle between the true and the predicted one in
  degrees (0 to 90), for crystals that are not cubic and whose anisotropy
  ``|A|_F / (tr(eps)/3)`` is at least ``min_anisotropy`` (below that the axis is noise).
  Undefined (NaN) for a model whose every prediction is isotropic; a single isotropic
  prediction among others counts with whatever axis its (degenerate) eigenvectors give.

All dimensionless (eps is a relative permittivity); angles in degrees.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..stats import mean_and_stderr

__all__ = ["METRIC_NAMES", "dielectric_metrics", "mean_and_stderr", "principal_axes"]

METRIC_NAMES = {
    "mean_eig_mae": "MAE of the mean eigenvalue",
    "aniso_mae": "MAE of the anisotropic part (Frobenius)",
    "ratio_mae": "MAE of the anisotropy ratio",
    "axis_deg_mean": "principal-axis angle error, mean (deg)",
}


def _check_pair(eps_true: np.ndarray, eps_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t, p = np.asarray(eps_true, dtype=np.float64), np.asarray(eps_pred, dtype=np.float64)
    if t.shape != p.shape or t.ndim != 3 or t.shape[1:] != (3, 3):
        raise ValueError(f"true and predicted tensors must both have shape (M, 3, 3), got {t.shape} and {p.shape}")
    if len(t) == 0:
        raise ValueError("no tensors to compare")
    return t, p


def principal_axes(eps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For tensors (M, 3, 3): the principal axis (M, 3) (unit eigenvector of the symmetric part
    whose eigenvalue is farthest from the mean eigenvalue) and the relative anisotropy (M,)
    ``|A|_F / (tr/3)``."""
    e = np.asarray(eps, dtype=np.float64)
    w, V = np.linalg.eigh(0.5 * (e + np.swapaxes(e, -1, -2)))
    mean = w.mean(axis=-1, keepdims=True)
    k = np.abs(w - mean).argmax(axis=-1)
    axes = np.take_along_axis(V, k[:, None, None], axis=2)[..., 0]
    A = e - np.trace(e, axis1=-2, axis2=-1)[..., None, None] / 3 * np.eye(3)
    return axes, np.linalg.norm(A, axis=(-2, -1)) / mean[:, 0]


def dielectric_metrics(eps_true: np.ndarray, eps_pred: np.ndarray, crystal_systems: Sequence[str],
                       min_anisotropy: float = 0.01, isotropy_tol: float = 1e-6) -> dict[str, float]:
    """The metrics of the module docstring, for M crystals, as a dict of floats.

    Also returns ``axis_deg_mean``, ``n_axis`` (crystals in the axis statistics) and
    ``aniso_zero_mae`` (the anisotropic-part MAE of predicting no anisotropy at all).
    """
    t, p = _check_pair(eps_true, eps_pred)
    if len(crystal_systems) != len(t):
        raise ValueError(f"{len(crystal_systems)} crystal systems for {len(t)} tensors")

    def trace3(e: np.ndarray) -> np.ndarray:
        return np.trace(e, axis1=-2, axis2=-1) / 3

    def aniso(e: np.ndarray) -> np.ndarray:
        return e - trace3(e)[..., None, None] * np.eye(3)

    def ratio(e: np.ndarray) -> np.ndarray:
        w = np.linalg.eigvalsh(0.5 * (e + np.swapaxes(e, -1, -2)))
        return w[:, -1] / w[:, 0]

    out = {
        "mean_eig_mae": float(np.abs(trace3(p) - trace3(t)).mean()),
        "aniso_mae": float(np.linalg.norm(aniso(p) - aniso(t), axis=(-2, -1)).mean()),
        "aniso_zero_mae": float(np.linalg.norm(aniso(t), axis=(-2, -1)).mean()),
        "ratio_mae": float(np.abs(ratio(p) - ratio(t)).mean()),
    }
    axes_t, rel_t = principal_axes(t)
    axes_p, rel_p = principal_axes(p)
    chosen = np.array([cs != "cubic" for cs in crystal_systems]) & (rel_t >= min_anisotropy)
    out["n_axis"] = float(chosen.sum())
    if chosen.any() and (rel_p[chosen] > isotropy_tol).any():
        cos = np.clip(np.abs((axes_t[chosen] * axes_p[chosen]).sum(-1)), 0.0, 1.0)
        angles = np.degrees(np.arccos(cos))
        out["axis_deg_median"], out["axis_deg_mean"] = float(np.median(angles)), float(angles.mean())
    else:  # an isotropic prediction has no principal axis
        out["axis_deg_median"] = out["axis_deg_mean"] = float("nan")
    return out
