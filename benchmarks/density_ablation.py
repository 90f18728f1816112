"""Benchmark: what makes notebook 05's density model accurate and transferable (issue 17).

    python benchmarks/density_ablation.py                      # the ablation, 2 seeds
    python benchmarks/density_ablation.py --study size         # Rackers et al.'s experiment
    python benchmarks/density_ablation.py --epochs 10 --seeds 0 --variants baseline   # a smoke run

Every run trains notebook 05's network (``DENSITY_HPARAMS``, AdamW, cosine schedule over
``--epochs``, best validation epoch kept; one thread) and evaluates it on the same held-out
clusters: the 32 ``test`` clusters (3-10 molecules, own trajectory) and the 4 ``large`` ones
(15 and 20 molecules). Per size group it reports the model's density error against the fitted
density, ``eps_rho = int |rho_pred - rho_fit| / N`` (%), the largest electron-count error
``|N_pred - N|`` (e) and the mean dipole error (e Å, against the DFT dipole).

``--study ablation`` (the ``train`` set and the ``train_small`` clusters of snapshots 3-18: 153
clusters of 3-10 molecules, the pool it was measured on before snapshots 19-23 were labelled):

* ``baseline``: mean-coefficient reference, plain MSE, no charge constraint (the old model);
* ``charge``: the same with the charge constraint in the forward pass;
* ``charge+atoms``: and the free-atom (promolecule) reference instead of the mean;
* ``charge+atoms+overlap``: and the loss in the one-centre overlap metric;
* ``charge+overlap``: the charge constraint and the overlap metric with the mean reference;

``--study size`` trains ``--config`` (default ``charge+overlap``, the best of the ablation) on
the clusters of at most 7 molecules and on those of at most 12 (the ``train_medium`` set adds 30 of 10-12), as Rackers
et al. (2023) compare training-cluster sizes. Same validation clusters (at most 7 molecules)
and the same number of epochs for both.

Results go to ``data/water/density_<study>.json`` after each run (a finished run is skipped
when the script is started again; notebook 05 plots them, so they are registered in the data
registry: re-register with ``--register`` once a study is complete), and a table is printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/ (authoring helpers)
from tools.datagen import manifest_path, register_file, write_json_atomically  # noqa: E402
from tutorial_utils.data import fetch  # noqa: E402
from tutorial_utils.density import load_clusters, load_free_atoms
from tutorial_utils.density_model import (
    DENSITY_HPARAMS,
    DensityModel,
    average_num_neighbors,
    clusters_to_data,
    held_out_errors,
    split_training_pool,
    train_density_model,
)
from tutorial_utils.runtime import seed_everything

HERE = Path(__file__).resolve().parent
VARIANTS = {
    "baseline": dict(conserve_charge=False, reference="mean", metric="euclidean"),
    "charge": dict(conserve_charge=True, reference="mean", metric="euclidean"),
    "charge+atoms": dict(conserve_charge=True, reference="atoms", metric="euclidean"),
    "charge+atoms+overlap": dict(conserve_charge=True, reference="atoms", metric="overlap"),
    "charge+overlap": dict(conserve_charge=True, reference="mean", metric="overlap"),
}
# The ablation keeps the pool it was measured on: ``train`` and the ``train_small`` clusters of
# snapshots before this one (144 clusters; snapshots 19-23, 45 clusters, were labelled later).
ABLATION_SMALL_BEFORE_SNAPSHOT = 19
GROUPS = {"test 3-10": ("test", range(3, 11)), "large 15": ("large", [15]), "large 20": ("large", [20])}
N_VALID = 15


def load_sets() -> dict:
    """Every cluster set, the basis and the free atoms."""
    sets, basis = {}, None
    for name in ("train", "train_small", "train_medium", "test", "large"):
        try:
            sets[name], basis = load_clusters(fetch(f"water_{name}"))
        except KeyError as exc:  # a set not registered yet (being made)
            print(f"skipping water_{name}: {exc}")
    if "train_small" in sets:  # the ablation's pool: the train_small clusters of the early snapshots
        with np.load(fetch("water_train_small"), allow_pickle=False) as f:
            snapshot = f["snapshot"]
        sets["train_small_early"] = [c for c, k in zip(sets["train_small"], snapshot)
                                     if k < ABLATION_SMALL_BEFORE_SNAPSHOT]
    atoms = load_free_atoms(fetch("water_atoms"), basis)
    return dict(sets=sets, basis=basis, atoms=atoms)


def training_pool(sets: dict, max_molecules: int, names: tuple[str, ...] = ("train", "train_small", "train_medium")
                  ) -> tuple[list, list]:
    """(train, valid) clusters: the clusters of at most ``max_molecules`` of the training sets
    ``names``; the validation clusters are the same ``N_VALID`` clusters of at most 7 molecules
    in every run (``split_training_pool``, as notebook 05 and the shipped weights split)."""
    pool = [c for name in names for c in sets.get(name, [])]
    return split_training_pool(pool, N_VALID, max_molecules)


def run(config: dict, train: list, valid: list, data: dict, epochs: int, seed: int) -> dict:
    """Train one model and evaluate it on the held-out sets; returns its metrics."""
    seed_everything(seed)
    hp = dict(DENSITY_HPARAMS)
    train_data, valid_data = clusters_to_data(train, hp["r_max"]), clusters_to_data(valid, hp["r_max"])
    model = DensityModel(data["basis"], avg_num_neighbors=average_num_neighbors(train_data),
                         conserve_charge=config["conserve_charge"], **hp)
    model.fit_normalisation(train_data, reference=data["atoms"] if config["reference"] == "atoms" else None)
    t0 = time.perf_counter()
    history = train_density_model(model, train_data, valid_data, epochs=epochs, seed=seed, metric=config["metric"])
    seconds = time.perf_counter() - t0
    rows = []
    for name in ("test", "large"):  # against the fitted density (no DFT grid: fast)
        rows += [dict(set=name, n=r["n_molecules"], **r)
                 for r in held_out_errors(model, data["sets"][name], data["basis"])]
    groups = {}
    for label, (name, sizes) in GROUPS.items():
        sel = [r for r in rows if r["set"] == name and r["n"] in sizes]
        groups[label] = dict(clusters=len(sel), eps_model_pct=100 * float(np.mean([r["eps_model"] for r in sel])),
                             max_abs_dN=float(max(abs(r["d_electrons"]) for r in sel)),
                             dipole_error=float(np.mean([r["d_dipole"] for r in sel])))
    by_size = {}
    for n in sorted({r["n"] for r in rows}):
        by_size[str(n)] = 100 * float(np.mean([r["eps_model"] for r in rows if r["n"] == n]))
    best = history.best_epoch
    return dict(config=config, seed=seed, epochs=epochs, train_clusters=len(train), valid_clusters=len(valid),
                train_max_molecules=max(c.n_molecules for c in train), seconds=seconds, best_epoch=best,
                valid_loss=[float(v) for v in history.valid_loss], train_loss=[float(v) for v in history.train_loss],
                groups=groups, eps_model_pct_by_size=by_size)


def print_table(results: dict) -> None:
    """Mean (and half the spread) over seeds, per variant and size group."""
    names = sorted({k.rsplit("/", 1)[0] for k in results})
    print("| run | seeds | train clusters | " + " | ".join(
        f"{g}: eps % / max dN e / dipole e A" for g in GROUPS) + " | train s |")
    print("|---|---|---|" + "---|" * len(GROUPS) + "---|")
    for name in names:
        runs = [v for k, v in results.items() if k.rsplit("/", 1)[0] == name]
        cells = []
        for g in GROUPS:
            eps = np.array([r["groups"][g]["eps_model_pct"] for r in runs])
            dn = max(r["groups"][g]["max_abs_dN"] for r in runs)
            dip = np.mean([r["groups"][g]["dipole_error"] for r in runs])
            spread = f" ± {eps.std(ddof=1) / np.sqrt(len(eps)):.3f}" if len(eps) > 1 else ""
            cells.append(f"{eps.mean():.3f}{spread} / {dn:.1e} / {dip:.3f}")
        secs = np.mean([r["seconds"] for r in runs])
        print(f"| {name} | {len(runs)} | {runs[0]['train_clusters']} | " + " | ".join(cells) + f" | {secs:.0f} |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--study", choices=["ablation", "size"], default="ablation")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--config", default="charge+overlap", choices=list(VARIANTS), help="the model of --study size")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1])
    parser.add_argument("--max-molecules", nargs="*", type=int, default=[7, 12],
                        help="--study size: the largest training clusters of each run (default 7 12)")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None, help="results JSON (default data/water/density_<study>.json)")
    parser.add_argument("--register", action="store_true", help="record the JSON's sha256 in the water manifest")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = args.out or HERE.parent / "data" / "water" / f"density_{args.study}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    results = json.loads(out.read_text()) if out.exists() else {}
    data = load_sets()
    if args.study == "ablation":  # the pool it was measured on: train + early train_small (153 clusters)
        plan = [(name, VARIANTS[name], 10, ("train", "train_small_early")) for name in args.variants]
    else:
        plan = [(f"{args.config}, train <= {m}", VARIANTS[args.config], m, ("train", "train_small", "train_medium"))
                for m in args.max_molecules]
    for name, config, max_molecules, set_names in plan:
        train, valid = training_pool(data["sets"], max_molecules, set_names)
        for seed in args.seeds:
            key = f"{name}/seed{seed}"
            if key in results and results[key]["epochs"] == args.epochs:
                print(f"{key}: done before, skipped", flush=True)
                continue
            r = run(config, train, valid, data, args.epochs, seed)
            results[key] = r
            write_json_atomically(out, results)
            g = r["groups"]
            print(f"{key}: {r['seconds']:.0f} s, best epoch {r['best_epoch']}/{args.epochs}; eps %: "
                  + ", ".join(f"{k} {v['eps_model_pct']:.3f}" for k, v in g.items())
                  + f"; max |dN| {max(v['max_abs_dN'] for v in g.values()):.1e} e", flush=True)
    print_table({k: v for k, v in results.items() if k.rsplit("/", 1)[0] in {p[0] for p in plan}})
    if args.register:  # notebook 05 fetches the file through the registry: record its sha256
        water = HERE.parent / "data" / "water"
        register_file(manifest_path(water, water, "water"), out, kind="results (JSON)")
        print(f"registered {out.name} in the water manifest")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
