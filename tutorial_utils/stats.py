"""Summary statistics shared by notebooks and benchmarks (error bars over seeds or samples)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["mean_and_stderr"]


def mean_and_stderr(values: Sequence[float]) -> tuple[float, float]:
    """Mean and standard error of the mean (sample standard deviation / sqrt(n); 0 for n = 1)."""
    v = np.asarray(values, dtype=np.float64)
    if v.size == 0:
        raise ValueError("mean_and_stderr needs at least one value")
    return float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size)) if v.size > 1 else 0.0
