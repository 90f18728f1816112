"""Train/valid/test splits of the phonon DoS crystals: element-stratified (every element in
training), random, and the split of the 2021 tutorial (Chen et al.), read from its published
index files."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["CHEN2021_ROWS", "chen2021_split", "element_stratified_split", "random_split"]

#: rows of the 2021 tutorial's ``data.csv``: our 1521 in order, then Mg3Bi2 (row 1521), which ours lacks
CHEN2021_ROWS = 1522


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


def random_split(n: int, fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                 seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A uniformly random split of ``n`` items: three sorted index arrays (train, valid, test)
    of sizes floor(f_train n), floor(f_valid n) and the rest."""
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or (f < 0).any() or abs(f.sum() - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    perm = np.random.default_rng(seed).permutation(n)
    n_train, n_valid = int(f[0] * n), int(f[1] * n)
    parts = np.split(perm, [n_train, n_train + n_valid])
    return tuple(np.sort(p) for p in parts)  # type: ignore[return-value]


def _read_indices(path: str, what: str) -> np.ndarray:
    """One non-negative integer per line (blank lines ignored)."""
    with open(path, encoding="utf-8") as fh:
        lines = [line.strip() for line in fh if line.strip()]
    try:
        idx = np.array([int(line) for line in lines], dtype=int)
    except ValueError:
        raise ValueError(f"{path}: the {what} index file must hold one integer per line") from None
    if idx.size == 0 or (idx < 0).any() or (idx >= CHEN2021_ROWS).any():
        raise ValueError(f"{path}: {what} indices must lie in 0..{CHEN2021_ROWS - 1}")
    return idx


def chen2021_split(n_records: int = 1521) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 2021 tutorial's train/valid/test split (Chen et al., Adv. Sci. 8, 2004214 (2021)) as
    index arrays into our ``n_records`` crystals.

    The index files (registry names ``chen2021_idx_train``/``_valid``/``_test``) count rows of the
    tutorial's 1522-row table, whose first 1521 rows are ours in order; row 1521 (Mg3Bi2, in its
    training part only) is dropped. The three parts must be disjoint and cover our rows.
    """
    from ..data import fetch

    parts = [_read_indices(str(fetch(f"chen2021_idx_{k}")), k) for k in ("train", "valid", "test")]
    parts = [np.sort(p[p < n_records]) for p in parts]
    joined = np.concatenate(parts)
    if joined.size != np.unique(joined).size or joined.size != n_records:
        raise ValueError(f"the 2021 split does not cover our {n_records} crystals once each "
                         f"({joined.size} indices, {np.unique(joined).size} distinct)")
    return parts[0], parts[1], parts[2]
