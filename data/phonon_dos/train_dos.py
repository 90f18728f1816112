"""Train notebook 06's phonon DoS network and save its weights for "train or load".

    python data/phonon_dos/train_dos.py [--seed 0] [--budget 300]

Uses the notebook's data (the 1521 crystals of ``phonon_dos``, fetched and checked by sha256
through the registry), split (element-stratified 80/10/10 with seed 0) and settings
(``tutorial_utils.phonons.MODEL_HPARAMS`` / ``TRAIN_HPARAMS``: a cosine learning rate over a
wall-clock budget of 300 s with one torch thread), writes the best ``state_dict`` to
``phonon_dos_model.pt`` (load it with ``torch.load(..., weights_only=True)`` or with
``tutorial_utils.phonons.pretrained()``) and its settings and test metrics to ``phonon_dos_model.json``,
and records the weights' sha256 and size in the registry's manifest
(``tutorial_utils/data/manifests/phonon_dos.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools/, also when not installed
from tools.datagen import manifest_path, register_file  # noqa: E402
from tutorial_utils.data.phonon import load_phonon_dos  # noqa: E402
from tutorial_utils.phonons import MODEL_HPARAMS, TRAIN_HPARAMS, fit_protocol  # noqa: E402

HERE = Path(__file__).resolve().parent
SPLIT_SEED = 0  # the notebook's split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--budget", type=float, default=TRAIN_HPARAMS["max_seconds"])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    run = fit_protocol(load_phonon_dos(), "stratified", split_seed=SPLIT_SEED, seed=args.seed,
                       max_seconds=args.budget)
    torch.save(run.model.state_dict(), HERE / "phonon_dos_model.pt")
    register_file(manifest_path(HERE, HERE, "phonon_dos"), HERE / "phonon_dos_model.pt",
                  kind="trained weights (state_dict)")
    report = {"model": MODEL_HPARAMS, "training": TRAIN_HPARAMS, "seed": args.seed, "split": "stratified",
              "split_seed": SPLIT_SEED, "n_train": run.n_train, "n_valid": run.n_valid,
              "n_test": run.n_test, "budget_s": args.budget, "threads": 1, "epochs_run": run.history.epochs,
              "steps": run.history.steps, "best_epoch": run.history.best_epoch + 1,
              "train_seconds": round(run.train_seconds, 1),
              "made_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "test_metrics": {k: round(v, 5) for k, v in run.metrics.items()}}
    (HERE / "phonon_dos_model.json").write_text(json.dumps(report, indent=1) + "\n")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
