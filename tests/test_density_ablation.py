"""benchmarks/density_ablation.py: the ablation keeps the pool it was measured on."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def test_the_ablation_pool_is_the_early_part_of_train_small():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import density_ablation
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    sets = density_ablation.load_sets()["sets"]
    early, small = sets["train_small_early"], sets["train_small"]
    assert 0 < len(early) < len(small)  # the later snapshots are left out ...
    train, valid = density_ablation.training_pool(sets, 10, ("train", "train_small_early"))
    recorded = json.loads((ROOT / "data" / "water" / "density_ablation.json").read_text())
    assert {r["train_clusters"] for r in recorded.values()} == {len(train)}  # the pool the results record
    assert len(valid) == density_ablation.N_VALID
    for a, b in zip(early, small):  # ... and the early clusters are the first ones, unchanged
        assert np.array_equal(a.positions.numpy(), b.positions.numpy())
