"""Train the potential of notebook 04 in full mode and save its weights for "train or load".

    python data/ethanol/train_potential.py [--seconds 300] [--threads 1] [--labels dft|xtb]
        [--ema-decay 0.999] [--frames-per-epoch 900] [--energy-weight 10] [--out DIR]

Uses exactly the notebook's split, architecture and training settings
(``tutorial_utils.potential.MODEL_HPARAMS``, ``TRAIN_HPARAMS`` updated by ``BUDGET_TRAINING``: a
wall-clock budget with the learning rate on a cosine over it), writes the best
``state_dict`` to ``ethanol_potential.pt`` (load it with ``torch.load(..., weights_only=True)``)
and its settings, budget and held-out errors to ``ethanol_potential.json`` (the card), and records
both files' sha256 and size in the registry's manifest (``tutorial_utils/data/manifests/ethanol.json``;
load the result with ``tutorial_utils.potential.pretrained()``, the card with ``pretrained_card()``).
The shipped weights were made with ``--seconds 6000 --ema-decay 0.999 --frames-per-epoch 900``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # tools/, also when not installed
from tools.datagen import manifest_path, register_file  # noqa: E402
from tutorial_utils.potential import (  # noqa: E402
    BUDGET_TRAINING,
    LABELS,
    MODEL_HPARAMS,
    TRAIN_HPARAMS,
    build_potential,
    checkpoint_name,
    frames_to_data,
    held_out_errors,
    label_keys,
    load_frames,
    split_indices,
    train_potential,
)

HERE = Path(__file__).resolve().parent
N_VALID = 100  # the notebook's full-mode split: 100 validation frames, the rest of the pool trains


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=BUDGET_TRAINING["max_seconds"],
                        help="wall-clock training budget (s); the notebook's full mode uses the default")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--labels", choices=sorted(LABELS), default="dft",
                        help="train on the DFT labels (ethanol_potential.pt) or on the GFN2-xTB labels the "
                             "same files carry (ethanol_potential_xtb.pt: the like-for-like MD check)")
    parser.add_argument("--ema-decay", type=float, default=BUDGET_TRAINING.get("ema_decay"),
                        help="keep a moving average of the weights with this decay per step (default: the recipe's)")
    parser.add_argument("--frames-per-epoch", type=int, default=None,
                        help="frames between validations (default: the recipe's)")
    parser.add_argument("--energy-weight", type=float, default=None,
                        help="weight of the per-atom energy term of the loss (default: the recipe's)")
    parser.add_argument("--out", type=Path, default=HERE,
                        help="folder for the .pt/.json; only the default (data/ethanol) registers the weights "
                             "in the manifest, so candidates written elsewhere never replace the shipped model")
    args = parser.parse_args(argv)
    if args.seconds <= 0:
        parser.error(f"--seconds must be positive, got {args.seconds}")
    torch.set_num_threads(args.threads)
    energy_key, forces_key = label_keys(args.labels)
    stem = checkpoint_name(args.labels)
    pool = load_frames(HERE / "ethanol_train.npz", energy_key=energy_key, forces_key=forces_key)
    species = sorted(set(pool.numbers.tolist()))
    n_train = len(pool) - N_VALID
    train_idx, valid_idx, _ = split_indices(len(pool), n_train, N_VALID, 0, seed=0)
    data = frames_to_data(pool, MODEL_HPARAMS["r_max"])
    train_data, valid_data = [data[k] for k in train_idx], [data[k] for k in valid_idx]
    model = build_potential(species, train_data)
    t0, cpu0 = time.perf_counter(), time.process_time()
    settings = {**BUDGET_TRAINING, "max_seconds": args.seconds, "ema_decay": args.ema_decay}
    for key, value in (("frames_per_epoch", args.frames_per_epoch), ("energy_weight", args.energy_weight)):
        if value is not None:
            settings[key] = value
    history = train_potential(model, train_data, valid_data, epochs=100_000, **settings)
    seconds, cpu_seconds = time.perf_counter() - t0, time.process_time() - cpu0
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), out / f"{stem}.pt")
    if out == HERE:
        register_file(manifest_path(HERE, HERE, "ethanol"), HERE / f"{stem}.pt", kind="trained weights (state_dict)")
    report = {"labels": args.labels, "label_keys": [energy_key, forces_key], "model": MODEL_HPARAMS,
              "training": {**TRAIN_HPARAMS, **settings}, "threads": args.threads,
              "epochs": history.epochs, "steps": history.steps,
              "n_train": n_train, "n_valid": N_VALID, "train_seconds": round(seconds, 1),
              "cpu_seconds": round(cpu_seconds, 1),
              "best_epoch": history.best_epoch + 1, "species": species,
              "made_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "errors": {name: {k: round(v, 3) for k, v in errors.items()}
                         for name, errors in held_out_errors(model, labels=args.labels).items()}}
    (out / f"{stem}.json").write_text(json.dumps(report, indent=1) + "\n")
    if out == HERE:
        register_file(manifest_path(HERE, HERE, "ethanol"), HERE / f"{stem}.json", kind="training card (JSON)")
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
