"""Benchmark: what notebook 04's potential reaches in a wall-clock budget, by training recipe
(issue 16: training that converges within its budget).

    python benchmarks/potential_budget.py                        # the default variants, 600 s each
    python benchmarks/potential_budget.py --budget 120 --variants notebook cosine_time

Data and split as notebook 04's full mode (900 training and 100 validation frames of the 500 K
pool, ``split_indices(seed=0)``); errors on the held-out sets ``ethanol_test`` (500 K),
``ethanol_t300`` and ``ethanol_t700``. Every variant trains one model with one torch thread
(``--jobs`` of them side by side, one core each) for the same wall-clock budget:

* ``notebook``: the notebook's recipe (cosine over a fixed 120 epochs of 250 frames, batch 5),
  stopped at the budget if it has not finished;
* ``cosine_time``: the same, but the cosine learning rate spans the budget (the run always ends
  at learning rate 0, and a faster machine takes more steps);
* ``cosine_time_ema``: and an exponential moving average of the weights (decay 0.999);
* ``cosine_time_b20``: batches of 20 frames (fewer, larger steps) with learning rate 1e-2.

The capacity sweep (issue 16, item 1) keeps ``cosine_time_b20``'s recipe and changes one
architecture setting of ``MODEL_HPARAMS`` (``mul`` 16, ``l_max`` 1, no parity) at a time:
``b20_mul32`` (twice the channels), ``b20_lmax2`` (l up to 2), ``b20_parity`` (parity-resolved
irreps); then ``b20_mul32_lmax2``, the two that helped, together. A bigger model takes fewer
steps in the same budget, so this measures capacity at this budget; and other jobs on the machine
take steps away too (each run records its steps), so compare runs made under the same load.
``--seeds 0 1`` trains every variant with two seeds (initialisation and batch order; the split
is notebook 04's).

The validation force MAE over the last epochs shows whether a run reached a plateau. Results
go to ``data/ethanol/potential_budget.json`` (one entry per variant, written as each finishes).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from datetime import UTC, datetime
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tools/ (authoring helpers), also when the package is not installed
from tools.datagen import write_json_atomically  # noqa: E402

OUT = ROOT / "data" / "ethanol" / "potential_budget.json"

VARIANTS: dict[str, dict] = {
    "notebook": {"schedule": "cosine", "epochs": 120},
    "cosine_time": {"schedule": "cosine_time"},
    "cosine_time_ema": {"schedule": "cosine_time", "ema_decay": 0.999},
    "cosine_time_b20": {"schedule": "cosine_time", "batch_size": 20, "lr": 1e-2},
    "b20_mul32": {"schedule": "cosine_time", "batch_size": 20, "lr": 1e-2, "model": {"mul": 32}},
    "b20_lmax2": {"schedule": "cosine_time", "batch_size": 20, "lr": 1e-2, "model": {"l_max": 2}},
    "b20_parity": {"schedule": "cosine_time", "batch_size": 20, "lr": 1e-2, "model": {"parity": True}},
    "b20_mul32_lmax2": {"schedule": "cosine_time", "batch_size": 20, "lr": 1e-2, "model": {"mul": 32, "l_max": 2}},
}


def run_key(variant: str, budget: float, seed: int) -> str:
    """The results entry of one run: ``variant/budget`` for seed 0, ``variant/budget/seed<k>`` else."""
    return f"{variant}/{budget:g}" + (f"/seed{seed}" if seed else "")


def run_variant(name: str, budget: float, seed: int = 0) -> dict:
    """Train one model with variant ``name`` for ``budget`` s on one thread; its held-out errors."""
    import torch

    torch.set_num_threads(1)
    from tutorial_utils.data import fetch
    from tutorial_utils.potential import (
        ETHANOL_SPECIES,
        MODEL_HPARAMS,
        build_potential,
        frames_to_data,
        held_out_errors,
        load_frames,
        split_indices,
        train_potential,
    )
    from tutorial_utils.training import count_parameters

    spec = {k: v for k, v in VARIANTS[name].items() if k != "model"}
    architecture = dict(VARIANTS[name].get("model", {}))
    pool = load_frames(fetch("ethanol_train"))
    train_idx, valid_idx, _ = split_indices(len(pool), 900, 100, 0, seed=0)  # as notebook 04 (full mode)
    train_data = frames_to_data(pool, MODEL_HPARAMS["r_max"], train_idx)
    valid_data = frames_to_data(pool, MODEL_HPARAMS["r_max"], valid_idx)
    model = build_potential(list(ETHANOL_SPECIES), train_data, seed=seed, **architecture)
    n_parameters = count_parameters(model)
    epochs = int(spec.pop("epochs", 100_000))
    t0 = time.perf_counter()
    history = train_potential(model, train_data, valid_data, epochs=epochs, seed=seed, max_seconds=budget, **spec)
    seconds = time.perf_counter() - t0
    errors = {f"ethanol_{name}": {k: round(v, 3) for k, v in e.items()} for name, e in held_out_errors(model).items()}
    valid_force = [round(v, 2) for v in history.valid_metrics.get("force_mae_meV_per_A", [])]
    return {"variant": name, "settings": VARIANTS[name], "seed": seed, "parameters": n_parameters,
            "budget_s": budget, "train_seconds": round(seconds, 1),
            "epochs": history.epochs, "steps": history.steps, "best_epoch": history.best_epoch + 1,
            "valid_loss": [round(v, 6) for v in history.valid_loss], "valid_force_mae": valid_force,
            "errors": errors}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--budget", type=float, default=600.0, help="wall-clock seconds per model")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    results = json.loads(args.out.read_text()) if args.out.is_file() else {"runs": {}}
    todo = [(v, s) for s in args.seeds for v in args.variants if run_key(v, args.budget, s) not in results["runs"]]
    print(f"{len(todo)} run(s) to train, {args.budget:.0f} s each, {args.jobs} side by side", flush=True)
    with ProcessPoolExecutor(max_workers=max(1, args.jobs), mp_context=get_context("spawn")) as pool:
        futures = [pool.submit(run_variant, v, args.budget, s) for v, s in todo]
        for fut in as_completed(futures):
            run = fut.result()
            results["runs"][run_key(run["variant"], args.budget, run["seed"])] = run
            results["made_utc"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            write_json_atomically(args.out, results, sort_keys=False)
            e = run["errors"]["ethanol_test"]
            print(f"{run['variant']:16s} seed {run['seed']}: {run['parameters']} parameters, {run['steps']} steps, "
                  f"best epoch {run['best_epoch']} of {run['epochs']}; "
                  f"test force MAE {e['force_mae_meV_per_A']:.1f} meV/Å, energy {e['energy_mae_meV_per_atom']:.2f} "
                  "meV/atom", flush=True)
    print(f"\n{'variant/budget':22s} {'steps':>6s} {'test F':>8s} {'test E':>7s} {'t300 F':>8s} {'t700 F':>8s} "
          f"{'valid F, last 5 epochs (meV/Å)':>32s}")
    for key, run in sorted(results["runs"].items()):
        e = run["errors"]
        tail = run["valid_force_mae"][-5:]
        tail_text = f"{min(tail):.1f}-{max(tail):.1f}" if tail else "-"
        print(f"{key:22s} {run['steps']:6d} {e['ethanol_test']['force_mae_meV_per_A']:8.1f} "
              f"{e['ethanol_test']['energy_mae_meV_per_atom']:7.2f} {e['ethanol_t300']['force_mae_meV_per_A']:8.1f} "
              f"{e['ethanol_t700']['force_mae_meV_per_A']:8.1f} {tail_text:>32s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
