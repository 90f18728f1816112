"""Train notebook 05's density model in full mode and save its weights for "train or load".

    python data/water/train_density.py [--seconds 400] [--threads 1]

Uses exactly the notebook's data, split, architecture and training settings
(``tutorial_utils.density_model.DENSITY_HPARAMS`` / ``DENSITY_TRAIN``: every training cluster of
at most ``max_molecules`` molecules, the free-atom reference, the charge constraint), writes the
best ``state_dict`` to ``water_density_model.pt`` (load it with ``torch.load(...,
weights_only=True)``, or ``tutorial_utils.density_model.pretrained()``) and its settings and
held-out errors (and its per-epoch curves) to ``water_density_model.json``, and records the
sha256 and size of both in the registry's manifest (``tutorial_utils/data/manifests/water.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools/, also when not installed
from tools.datagen import manifest_path, register_file  # noqa: E402
from tutorial_utils.density import load_clusters, load_free_atoms  # noqa: E402
from tutorial_utils.density_model import (  # noqa: E402
    DENSITY_HPARAMS,
    DENSITY_TRAIN,
    build_density_model,
    clusters_to_data,
    held_out_errors,
    split_training_pool,
    train_density_model,
)
from tutorial_utils.runtime import seed_everything  # noqa: E402

HERE = Path(__file__).resolve().parent
TRAINING_SETS = ("train", "train_small", "train_medium")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=DENSITY_TRAIN["max_seconds"],
                        help="wall-clock training budget (s), the learning rate on a cosine over it")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    seed_everything(0)
    pool, basis = [], None
    for name in TRAINING_SETS:
        clusters, basis = load_clusters(HERE / f"water_{name}.npz")
        pool += clusters
    assert basis is not None
    atoms = load_free_atoms(HERE / "water_atoms.npz", basis)
    train, valid = split_training_pool(pool, DENSITY_TRAIN["n_valid"], DENSITY_TRAIN["max_molecules"])
    r_max = DENSITY_HPARAMS["r_max"]
    train_data, valid_data = clusters_to_data(train, r_max), clusters_to_data(valid, r_max)
    model = build_density_model(basis, train_data, atoms if DENSITY_TRAIN["reference"] == "atoms" else None,
                                conserve_charge=DENSITY_TRAIN["conserve_charge"])
    t0 = time.perf_counter()
    history = train_density_model(model, train_data, valid_data, epochs=100_000, lr=DENSITY_TRAIN["lr"],
                                  batch_size=DENSITY_TRAIN["batch_size"], metric=DENSITY_TRAIN["metric"],
                                  schedule="cosine_time", max_seconds=args.seconds)
    seconds = time.perf_counter() - t0
    target = HERE / "water_density_model.pt"
    torch.save(model.state_dict(), target)
    register_file(manifest_path(HERE, HERE, "water"), target, kind="trained weights (state_dict)")
    report: dict = {"model": DENSITY_HPARAMS, "training": {**DENSITY_TRAIN, "max_seconds": args.seconds},
                    "epochs": history.epochs, "steps": history.steps,
                    "n_train": len(train), "n_valid": len(valid), "train_seconds": round(seconds, 1),
                    "best_epoch": history.best_epoch + 1, "threads": args.threads,
                    "made_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    # per epoch, so that a reader can see whether the run reached a plateau
                    "curves": {"seconds": [round(float(t), 1) for t in np.cumsum(history.seconds)],  # since start
                               "train_loss": [float(f"{x:.4g}") for x in history.train_loss],
                               "valid_loss": [float(f"{x:.4g}") for x in history.valid_loss]},
                    "errors": {}}
    for name in ("test", "large"):
        clusters, _ = load_clusters(HERE / f"water_{name}.npz")
        by_size: dict[int, list[dict]] = {}
        for r in held_out_errors(model, clusters, basis):
            by_size.setdefault(int(r["n_molecules"]), []).append(r)
        report["errors"][name] = {
            str(n): {"clusters": len(v), "eps_model_pct": round(100 * float(np.mean([x["eps_model"] for x in v])), 4),
                     "max_abs_dN": float(max(abs(x["d_electrons"]) for x in v)),
                     "dipole_error": round(float(np.mean([x["d_dipole"] for x in v])), 4)}
            for n, v in sorted(by_size.items())}
    info = HERE / "water_density_model.json"
    info.write_text(json.dumps(report, indent=1) + "\n")
    register_file(manifest_path(HERE, HERE, "water"), info, kind="training report (JSON)")  # notebook 05 reads it
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
