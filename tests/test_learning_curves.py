"""The bookkeeping of benchmarks/learning_curves.py (issue 16): step caps, the convergence rule,
and the summary notebook 04 reads (means over seeds, slopes, the data-efficiency ratio)."""

from __future__ import annotations

import math

import pytest

from .benchmark_scripts import load_benchmark

lc = load_benchmark("learning_curves")


def test_step_cap_grows_as_the_square_root_in_whole_epochs():
    assert lc.step_cap(25, 1500) == 1500 and lc.step_cap(100, 1500) == 3000 and lc.step_cap(900, 1500) == 9000
    assert lc.step_cap(30, 1500) % 50 == 0 and lc.step_cap(1, 10) == 50  # at least one epoch


def test_convergence_rule():
    assert lc.converged(best_epoch=10, epochs=20)  # the best epoch before the last fifth
    assert not lc.converged(best_epoch=17, epochs=20) and not lc.converged(best_epoch=19, epochs=20)
    assert lc.converged(best_epoch=15, epochs=20) and not lc.converged(best_epoch=16, epochs=20)
    assert not lc.converged(best_epoch=0, epochs=3)  # too short to tell


def _runs(errors: dict[str, list[list[float]]], sizes: list[int]) -> dict:
    return {lc.run_key(kind, n, seed): {"test": {"force_mae_meV_per_A": per_seed[seed][k]}, "converged": True}
            for kind, per_seed in errors.items() for seed in range(len(per_seed)) for k, n in enumerate(sizes)}


def test_summary_slopes_and_ratio():
    sizes = [25, 100, 400]
    # equivariant: error = 100 (n/25)^-0.5; invariant: twice as high, the same slope
    eq = [[100 * (n / 25) ** -0.5 for n in sizes]] * 2
    inv = [[200 * (n / 25) ** -0.5 for n in sizes], [200 * (n / 25) ** -0.5 for n in sizes]]
    summary = lc.summarise(_runs({"equivariant": eq, "invariant": inv}, sizes), sizes, [0, 1])
    assert summary["slope"]["equivariant"][0] == pytest.approx(-0.5)
    assert summary["force_mae_meV_per_A"]["invariant"]["100"] == (pytest.approx(100.0), pytest.approx(0.0))
    # the invariant model's best (50 meV/Å at 400 frames) is reached by the equivariant at 100 frames
    assert summary["ratio"]["mean_and_stderr"][0] == pytest.approx(4.0)
    assert not summary["ratio"]["extrapolated"] and len(summary["converged"]["equivariant"]) == 6


def test_summary_flags_an_extrapolated_ratio():
    sizes = [25, 100]
    eq = [[100.0, 90.0]]
    inv = [[80.0, 70.0]]  # better than the equivariant model everywhere: its best is never reached
    ratio = lc.summarise(_runs({"equivariant": eq, "invariant": inv}, sizes), sizes, [0])["ratio"]
    assert ratio["extrapolated"] and (math.isinf(ratio["per_seed"][0]) or ratio["per_seed"][0] < 1.0)
