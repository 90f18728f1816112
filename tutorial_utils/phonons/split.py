"""A train/valid/test split of crystals that keeps every element in the training set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["element_stratified_split"]


def element_stratified_split(element_sets: Sequence[set[int]], fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                             seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split crystals into train/valid/test so every element appears in training where possible.

    Elements are visited from the rarest to the most common; the crystals holding an
    element that are not yet assigned are shuffled and cut in the given fractions, the
    training set taking at least one. So an element found in a single crystal is only
    in training, and every element with k >= 1 crystals has at least one training crystal.

    Args:
        element_sets: the set of atomic numbers of each crystal.
        fractions: train, valid, test fractions (positive, summing to 1).

    Returns:
        Three sorted index arrays (train, valid, test) covering every crystal once.
    """
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or (f < 0).any() or abs(f.sum() - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    rng = np.random.default_rng(seed)
    counts: dict[int, int] = {}
    for s in element_sets:
        for z in s:
            counts[z] = counts.get(z, 0) + 1
    assigned = np.full(len(element_sets), -1)
    for z in sorted(counts, key=lambda z: (counts[z], z)):
        idx = np.array([k for k, s in enumerate(element_sets) if z in s and assigned[k] < 0], dtype=int)
        if idx.size == 0:
            continue
        rng.shuffle(idx)
        # cumulative rounding so the fractions hold over the whole data set
        n_done = int((assigned >= 0).sum())
        cum = np.round(np.cumsum(f) * (n_done + idx.size)).astype(int) - np.round(np.cumsum(f) * n_done).astype(int)
        n_train = max(1, int(cum[0]))
        n_valid = max(0, min(int(cum[1] - cum[0]), idx.size - n_train))
        assigned[idx[:n_train]] = 0
        assigned[idx[n_train:n_train + n_valid]] = 1
        assigned[idx[n_train + n_valid:]] = 2
    assigned[assigned < 0] = 0  # crystals with no elements (not possible for real data)
    return tuple(np.flatnonzero(assigned == k) for k in range(3))  # type: ignore[return-value]
