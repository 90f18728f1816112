"""Train the equivariant dielectric model of notebook 07 and save its weights for "train or load".

    python data/tensors/train_dielectric.py [--seed 0]

Uses exactly the notebook's data (all 1056 crystals of ``dielectric_constant``, fetched and
checked by sha256 through the registry), split (element-stratified 70/10/20 with seed 0),
architecture and training settings (``tutorial_utils.tensor_properties.MODEL_HPARAMS`` /
``TRAIN_HPARAMS``, seed 0: the notebook's first seed), writes the best ``state_dict`` to
``dielectric_model.pt`` (load it with ``torch.load(..., weights_only=True)``, or with
``tutorial_utils.tensor_properties.pretrained()``) and its settings and held-out errors to
``dielectric_model.json``, and records the weights' sha256 and size in the registry's manifest
(``tutorial_utils/data/manifests/tensors.json``).
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
from tutorial_utils.tensor_properties import (  # noqa: E402
    DIELECTRIC_SPECIES,
    MODEL_HPARAMS,
    SPLIT,
    TRAIN_HPARAMS,
    build_model,
    dielectric_graphs,
    dielectric_loss,
    dielectric_metrics,
    load_dielectric,
    predict_dielectric,
    split_records,
    train_model,
)

HERE = Path(__file__).resolve().parent
SPLIT_SEED = 0  # the notebook's split: SPLIT (70/10/20), every element in training


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    records = load_dielectric()
    species = sorted({int(site.specie.Z) for r in records for site in r.structure})
    if tuple(species) != DIELECTRIC_SPECIES:
        raise SystemExit(f"the data set's elements {species} differ from DIELECTRIC_SPECIES; update it")
    train_idx, valid_idx, test_idx = split_records(records, SPLIT, seed=SPLIT_SEED)
    graphs = dielectric_graphs(records, MODEL_HPARAMS["r_max"])
    train_graphs, valid_graphs = [graphs[k] for k in train_idx], [graphs[k] for k in valid_idx]
    model = build_model("equivariant", species, train_graphs, seed=args.seed)
    t0 = time.perf_counter()
    history = train_model(model, dielectric_loss(TRAIN_HPARAMS["aniso_weight"]), train_graphs, valid_graphs,
                          epochs=TRAIN_HPARAMS["epochs"], max_seconds=None, seed=args.seed)
    seconds = time.perf_counter() - t0
    torch.save(model.state_dict(), HERE / "dielectric_model.pt")
    register_file(manifest_path(HERE, HERE, "tensors"), HERE / "dielectric_model.pt",
                  kind="trained weights (state_dict)")
    eps_true = np.stack([records[k].tensor for k in test_idx])
    eps_pred = predict_dielectric(model, [graphs[k] for k in test_idx])
    metrics = dielectric_metrics(eps_true, eps_pred, [records[k].crystal_system for k in test_idx])
    report = {"model": MODEL_HPARAMS, "training": TRAIN_HPARAMS, "seed": args.seed, "split": list(SPLIT),
              "split_seed": SPLIT_SEED, "n_train": len(train_idx), "n_valid": len(valid_idx),
              "n_test": len(test_idx), "wall_time_cap": None,  # all epochs run (the notebook caps at max_seconds)
              "epochs_run": history.epochs, "best_epoch": history.best_epoch + 1,
              "train_seconds": round(seconds, 1), "species": species,
              "made_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "test_metrics": {k: round(v, 4) for k, v in metrics.items()}}
    (HERE / "dielectric_model.json").write_text(json.dumps(report, indent=1).replace("\n  ", " ") + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
