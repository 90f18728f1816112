"""benchmarks/density_ablation.py: the ablation keeps the pool it was measured on."""

from __future__ import annotations

import json

import numpy as np

from .benchmark_scripts import load_benchmark
from .notebook_files import ROOT


def test_the_ablation_pool_is_the_early_part_of_train_small():
    density_ablation = load_benchmark("density_ablation")
    sets = density_ablation.load_sets()["sets"]
    early, small = sets["train_small_early"], sets["train_small"]
    assert 0 < len(early) < len(small)  # the later snapshots are left out ...
    train, valid = density_ablation.training_pool(sets, 10, ("train", "train_small_early"))
    recorded = json.loads((ROOT / "data" / "water" / "density_ablation.json").read_text())
    assert {r["train_clusters"] for r in recorded.values()} == {len(train)}  # the pool the results record
    assert len(valid) == density_ablation.N_VALID
    for a, b in zip(early, small):  # ... and the early clusters are the first ones, unchanged
        assert np.array_equal(a.positions.numpy(), b.positions.numpy())
