"""Benchmark: learning curves of notebook 04's potential against an invariant model with as many
parameters (issue 16, item 3): how many frames does each need for a given force error?

    python benchmarks/learning_curves.py                 # 5 sizes x 2 models x 2 seeds, 2 jobs
    python benchmarks/learning_curves.py --sizes 25 100 --seeds 0 --steps-at-25 200   # a smoke run

Data: notebook 04's split of the 500 K pool (``split_indices(seed=0)``: 900 training and 100
validation frames); each size ``n`` trains on the first ``n`` training frames (nested subsets),
validates on the same 100 frames and is scored on the held-out ``ethanol_test`` frames.

Models: the equivariant potential (``MODEL_HPARAMS``: ``l_max`` 1) and the same network with
``l_max = 0`` (scalars only: it sees distances but cannot combine directions before the energy),
its width ``mul`` chosen so that its parameter count is within 10 % of the equivariant one.

Training, the same for both and counted in steps, not seconds, so that a loaded machine cannot
change the result: AdamW, batches of 20 frames at lr 1e-2 (``BUDGET_TRAINING``'s recipe), an
"epoch" of 1000 frames (50 steps) drawn with replacement, one validation pass per epoch, the
learning rate on a cosine over the run's steps, the best validation epoch kept. The steps grow as
the square root of the size (``--steps-at-25`` at 25 frames, 6x that at 900), since a larger set
takes longer to fit. (A first version stopped early on a plateau schedule: it stopped while the
learning rate was still high, at 42.8 meV/Å for 900 frames where the cosine reaches about 30.)
A run counts as converged when its best validation epoch lies before the last fifth of its
epochs: the validation error had stopped improving (on small sets it rises: overfitting). For the
largest size, ``--doubling`` trains seed 0 of both models again with twice the steps: if that
still lowers the error, the curve's right end is limited by steps, and the summary says by how much.

Results go to ``data/ethanol/learning_curves.json`` (one entry per model, size and seed, written
as each run finishes; an existing entry with the same settings is not trained again), with a
summary: mean and standard error over seeds per size, the log-log slope of each curve, and the
data-efficiency ratio: the training frames the invariant model uses for its best error (at the
largest size) divided by the frames the equivariant model needs for that error (interpolated
on its log-log curve), per seed, with its mean and standard error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tools/ (authoring helpers), also when the package is not installed
from tools.datagen import write_json_atomically  # noqa: E402

OUT = ROOT / "data" / "ethanol" / "learning_curves.json"
SIZES = (25, 50, 100, 250, 900)
BATCH_SIZE, LR, FRAMES_PER_EPOCH = 20, 1e-2, 1000
PARAMETER_TOLERANCE = 0.10


def matched_invariant_mul(target: int, species, data) -> tuple[int, int]:
    """The ``mul`` of the ``l_max = 0`` network whose parameter count is closest to ``target``
    (searched over 16-128); returns ``(mul, parameters)``; raises if it is not within 10 %."""
    from tutorial_utils.potential import build_potential
    from tutorial_utils.training import count_parameters

    counts = {m: count_parameters(build_potential(species, data, l_max=0, mul=m)) for m in range(16, 129)}
    mul = min(counts, key=lambda m: abs(counts[m] - target))
    n = counts[mul]
    if abs(n - target) > PARAMETER_TOLERANCE * target:
        raise RuntimeError(f"no l_max = 0 width matches {target} parameters within 10 % (closest: {n})")
    return mul, n


def step_cap(n_frames: int, steps_at_25: int) -> int:
    """The step cap for a training set of ``n_frames``: ``steps_at_25 * sqrt(n / 25)``, whole epochs."""
    steps = steps_at_25 * math.sqrt(n_frames / 25)
    per_epoch = FRAMES_PER_EPOCH // BATCH_SIZE
    return max(per_epoch, int(round(steps / per_epoch)) * per_epoch)


def converged(best_epoch: int, epochs: int) -> bool:
    """The best validation epoch (0-based) lies before the last fifth of the ``epochs``: the
    validation error had stopped improving before the run ended."""
    return epochs >= 5 and best_epoch < epochs - max(1, epochs // 5)


def run_one(kind: str, n_frames: int, seed: int, steps_at_25: int, factor: int = 1) -> dict:
    """Train one model (``kind`` "equivariant" or "invariant") on the first ``n_frames`` training
    frames with ``seed`` on one thread, for ``factor`` times the size's steps; its settings, curve
    and held-out errors."""
    import torch

    torch.set_num_threads(1)
    from tutorial_utils.data import fetch
    from tutorial_utils.potential import (
        ETHANOL_SPECIES,
        MODEL_HPARAMS,
        build_potential,
        frames_to_data,
        load_frames,
        mean_absolute_errors,
        split_indices,
        train_potential,
    )
    from tutorial_utils.training import count_parameters

    pool = load_frames(fetch("ethanol_train"))
    train_idx, valid_idx, _ = split_indices(len(pool), 900, 100, 0, seed=0)  # as notebook 04 (full mode)
    train_data = frames_to_data(pool, MODEL_HPARAMS["r_max"], train_idx[:n_frames])
    valid_data = frames_to_data(pool, MODEL_HPARAMS["r_max"], valid_idx)
    test_data = frames_to_data(load_frames(fetch("ethanol_test")), MODEL_HPARAMS["r_max"])
    species = list(ETHANOL_SPECIES)
    target = count_parameters(build_potential(species, train_data))
    architecture = {} if kind == "equivariant" else {"l_max": 0, "mul": matched_invariant_mul(target, species,
                                                                                              train_data)[0]}
    model = build_potential(species, train_data, seed=seed, **architecture)
    steps = factor * step_cap(n_frames, steps_at_25)
    epochs = steps // (FRAMES_PER_EPOCH // BATCH_SIZE)
    t0, c0 = time.perf_counter(), time.process_time()
    history = train_potential(model, train_data, valid_data, epochs=epochs, seed=seed, schedule="cosine",
                              batch_size=BATCH_SIZE, lr=LR, frames_per_epoch=FRAMES_PER_EPOCH)
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    errors = mean_absolute_errors(model, test_data)
    return {"kind": kind, "n_frames": n_frames, "seed": seed, "factor": factor,
            "architecture": {**MODEL_HPARAMS, **architecture},
            "parameters": count_parameters(model), "step_cap": steps, "steps": history.steps,
            "epochs": history.epochs, "best_epoch": history.best_epoch + 1,
            "converged": converged(history.best_epoch, history.epochs),
            "settings": {"batch_size": BATCH_SIZE, "lr": LR, "frames_per_epoch": FRAMES_PER_EPOCH,
                         "schedule": "cosine over the steps",
                         "steps_at_25": steps_at_25},
            "train_seconds": round(seconds, 1), "cpu_seconds": round(cpu, 1),
            "valid_force_mae": [round(v, 2) for v in history.valid_metrics.get("force_mae_meV_per_A", [])],
            "test": {k: round(v, 3) for k, v in errors.items()}}


def run_key(kind: str, n_frames: int, seed: int, factor: int = 1) -> str:
    return f"{kind}/{n_frames}/seed{seed}" + (f"/x{factor}" if factor != 1 else "")


def loglog_slope(sizes: np.ndarray, errors: np.ndarray) -> float:
    """Least-squares slope of log(error) against log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(errors), 1)[0])


def summarise(runs: dict, sizes: list[int], seeds: list[int]) -> dict:
    """Per model and size the mean and standard error over seeds of the test force MAE (meV/Å),
    the log-log slope per seed (mean and standard error), and the data-efficiency ratio."""
    from tutorial_utils.potential import frames_for_error
    from tutorial_utils.stats import mean_and_stderr

    curves: dict[str, dict[int, list[float]]] = {}
    out: dict = {"force_mae_meV_per_A": {}, "slope": {}, "converged": {}}
    for kind in ("equivariant", "invariant"):
        per_seed = {s: [runs[run_key(kind, n, s)]["test"]["force_mae_meV_per_A"] for n in sizes] for s in seeds
                    if all(run_key(kind, n, s) in runs for n in sizes)}
        curves[kind] = per_seed  # type: ignore[assignment]
        out["force_mae_meV_per_A"][kind] = {str(n): mean_and_stderr([per_seed[s][k] for s in per_seed])
                                            for k, n in enumerate(sizes)} if per_seed else {}
        out["slope"][kind] = mean_and_stderr([loglog_slope(np.array(sizes), np.array(c)) for c in per_seed.values()]) \
            if per_seed else None
        out["converged"][kind] = [run_key(kind, n, s) for s in seeds for n in sizes
                                  if run_key(kind, n, s) in runs and runs[run_key(kind, n, s)]["converged"]]
    ratios, extrapolated = [], False
    for s in seeds:
        if s in curves["equivariant"] and s in curves["invariant"]:
            best_invariant = min(curves["invariant"][s])
            n_inv = sizes[int(np.argmin(curves["invariant"][s]))]
            n_eq, extra = frames_for_error(sizes, curves["equivariant"][s], best_invariant)
            extrapolated |= extra
            ratios.append(n_inv / n_eq)
    out["doubling"] = {}
    for kind in ("equivariant", "invariant"):
        one, two = runs.get(run_key(kind, sizes[-1], seeds[0])), runs.get(run_key(kind, sizes[-1], seeds[0], 2))
        if one and two:
            e1, e2 = one["test"]["force_mae_meV_per_A"], two["test"]["force_mae_meV_per_A"]
            out["doubling"][kind] = {"frames": sizes[-1], "steps": [one["steps"], two["steps"]], "force_mae": [e1, e2],
                                     "change_pct": round(100 * (e2 - e1) / e1, 2)}
    out["ratio"] = {"per_seed": ratios, "mean_and_stderr": mean_and_stderr(ratios) if ratios else None,
                    "extrapolated": extrapolated,
                    "definition": "frames the invariant model trained on for its best test force MAE, divided by "
                                  "the frames the equivariant model needs for that error (log-log interpolation)"}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--kinds", nargs="+", choices=["equivariant", "invariant"],
                        default=["equivariant", "invariant"])
    parser.add_argument("--steps-at-25", type=int, default=1500, help="the step cap at 25 frames")
    parser.add_argument("--no-doubling", action="store_true", help="skip the twice-the-steps check at the largest size")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    if min(args.sizes) < 1 or max(args.sizes) > 900:
        parser.error("sizes must lie between 1 and 900 training frames")
    results = json.loads(args.out.read_text()) if args.out.is_file() else {"runs": {}}
    plan = [(k, n, s, 1) for s in args.seeds for n in sorted(args.sizes, reverse=True) for k in args.kinds]
    if not args.no_doubling:
        plan[2:2] = [(k, max(args.sizes), args.seeds[0], 2) for k in args.kinds]  # early: they take longest
    todo = [(k, n, s, f) for k, n, s, f in plan
            if results["runs"].get(run_key(k, n, s, f), {}).get("settings", {}).get("steps_at_25") != args.steps_at_25]
    print(f"{len(todo)} run(s) to train, {args.jobs} side by side", flush=True)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_one, k, n, s, args.steps_at_25, f) for k, n, s, f in todo]
        for fut in as_completed(futures):
            run = fut.result()
            results["runs"][run_key(run["kind"], run["n_frames"], run["seed"], run["factor"])] = run
            results["made_utc"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            write_json_atomically(args.out, results, sort_keys=False)
            print(f"{run['kind']:11s} {run['n_frames']:4d} frames seed {run['seed']} x{run['factor']}: "
                  f"{run['parameters']} parameters, "
                  f"{run['steps']}/{run['step_cap']} steps, best epoch {run['best_epoch']} of {run['epochs']}"
                  f", converged {run['converged']}; test force "
                  f"MAE {run['test']['force_mae_meV_per_A']:.1f} meV/Å, {run['cpu_seconds']:.0f} CPU s", flush=True)
    results["summary"] = summarise(results["runs"], sorted(args.sizes), args.seeds)
    write_json_atomically(args.out, results, sort_keys=False)
    if args.out.resolve() == OUT.resolve():  # the repository's file: record its sha256 for the registry
        from tools.datagen import manifest_path, register_file

        register_file(manifest_path(OUT.parent, OUT.parent, "ethanol"), OUT, kind="benchmark results (JSON)")
    summary = results["summary"]
    print(f"\n{'frames':>7s} " + " ".join(f"{k:>22s}" for k in ("equivariant", "invariant")))
    for n in sorted(args.sizes):
        cells = []
        for kind in ("equivariant", "invariant"):
            m = summary["force_mae_meV_per_A"][kind].get(str(n))
            cells.append(f"{m[0]:13.1f} ± {m[1]:5.1f}" if m else f"{'-':>22s}")
        print(f"{n:7d} " + " ".join(f"{c:>22s}" for c in cells))
    for kind, slope in summary["slope"].items():
        if slope:
            print(f"log-log slope, {kind}: {slope[0]:.3f} ± {slope[1]:.3f}")
    ratio = summary["ratio"]
    if ratio["mean_and_stderr"]:
        print(f"data-efficiency ratio: {ratio['mean_and_stderr'][0]:.2f} ± {ratio['mean_and_stderr'][1]:.2f} "
              f"(per seed {[round(r, 2) for r in ratio['per_seed']]}; extrapolated: {ratio['extrapolated']})")
    for kind, d in summary["doubling"].items():
        print(f"twice the steps at {d['frames']} frames, {kind}: {d['force_mae'][0]:.1f} -> {d['force_mae'][1]:.1f} "
              f"meV/Å ({d['change_pct']:+.1f} %)")
    cpu = sum(r["cpu_seconds"] for r in results["runs"].values())
    print(f"CPU time of all runs: {cpu / 60:.1f} min")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
