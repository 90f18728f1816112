"""How good a predicted phonon DoS is: MSE and R^2, and the heat capacity and mean frequency
computed from a DoS. Units: frequencies cm^-1, heat capacities k_B per atom."""

from __future__ import annotations

import numpy as np
from ase import units

__all__ = ["CM1_TO_K", "average_frequency", "dos_metrics", "heat_capacity"]

#: h c / k_B in K per cm^-1 (so x = h c nu / (k_B T) = CM1_TO_K * nu[cm^-1] / T[K]), from ase.units
CM1_TO_K = 100 * units._hplanck * units._c / units._k


def dos_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE and two R^2 of predicted DoS (M, n_bins) against the truth.

    * ``mse`` = mean over crystals and bins of (y - y_hat)^2;
    * ``r2_global`` = 1 - SS_res / sum (y - ybar)^2 with ONE mean ybar over all crystals and bins;
    * ``r2_per_bin`` = 1 - SS_res / sum (y - ybar_b)^2 with a separate mean ybar_b per
      frequency bin b (a stricter baseline: the average DoS shape itself scores 0).
    """
    y, yh = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y.shape != yh.shape or y.ndim != 2:
        raise ValueError(f"y_true and y_pred must have the same (M, n_bins) shape, got {y.shape} and {yh.shape}")
    ss_res = float(((y - yh) ** 2).sum())
    return {
        "mse": ss_res / y.size,
        "r2_global": 1.0 - ss_res / float(((y - y.mean()) ** 2).sum()),
        "r2_per_bin": 1.0 - ss_res / float(((y - y.mean(axis=0)) ** 2).sum()),
    }


def _check_dos(freq: np.ndarray, dos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    freq, dos = np.asarray(freq, dtype=float), np.atleast_2d(np.asarray(dos, dtype=float))
    if freq.ndim != 1 or dos.shape[-1] != freq.size:
        raise ValueError(f"the DoS has {dos.shape[-1]} bins but the frequency grid has {freq.size} points")
    return freq, dos


def heat_capacity(freq: np.ndarray, dos: np.ndarray, T: float = 300.0) -> np.ndarray:
    """Harmonic heat capacity at constant volume, in k_B per atom, from a DoS g(nu).

    C_v(T) = 3 k_B sum_nu g(nu) E(x) / sum_nu g(nu),  E(x) = x^2 e^x / (e^x - 1)^2,
    x = h c nu / (k_B T). The DoS is normalised to 3 modes per atom, so any scale of g
    (e.g. max-normalised) gives the same C_v; E(0) = 1 (the classical limit, 3 k_B).

    Args:
        freq: (n_bins,) frequencies in cm^-1 (>= 0). dos: (n_bins,) or (M, n_bins).
        T: temperature in K.
    Returns:
        (M,) heat capacities in k_B per atom (multiply by R = 8.314 J/(mol K) for per mole of atoms).
    """
    freq, dos = _check_dos(freq, dos)
    x = CM1_TO_K * freq / float(T)  # h c nu / (k_B T)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        einstein = np.where(x > 1e-8, x**2 * np.exp(x) / np.expm1(x) ** 2, 1.0)
    einstein = np.nan_to_num(einstein, nan=0.0)  # x -> inf: E -> 0
    weight = dos.sum(axis=1)
    return 3.0 * (dos * einstein).sum(axis=1) / np.maximum(weight, 1e-12)


def average_frequency(freq: np.ndarray, dos: np.ndarray) -> np.ndarray:
    """Mean phonon frequency sum nu g(nu) / sum g(nu), in cm^-1: (M,) for a (M, n_bins) DoS."""
    freq, dos = _check_dos(freq, dos)
    return (dos * freq).sum(axis=1) / np.maximum(dos.sum(axis=1), 1e-12)
