"""The tutorial potential against the ``nequip`` and ``mace-torch`` packages: same frames, same budget.

Both models (ours and the package's, ``--package nequip|mace``) are trained on the same ``N``
ethanol DFT training frames (default 200) with the same validation frames (best validation epoch
kept), each for the same wall-clock budget (default 120 s) on one CPU thread, and both are
evaluated on the same held-out test frames (``data/ethanol/ethanol_test.npz``). Printed: force
MAE (meV/Å), energy MAE (meV/atom), training throughput (training frames processed per second of
wall time spent in training, validation passes included) and the ratios ours / theirs.

Matched settings (both packages): r_max 4 Å, 16 channels per irrep with l up to 1, 8 trainable
Bessel functions, float32 weights, per-atom energy shift = mean energy per atom and scale = RMS
force of the training frames, loss ``1 * MSE(E / atom) + 10 * MSE(F)``, Adam (AdamW without
weight decay) at a constant learning rate of 5e-3, batches of 5 frames, gradient-norm clipping
at 10, one validation pass per ``N`` training frames.

* nequip: 3 interaction layers, only the ``(-1)^l`` parities, polynomial cutoff p = 6, a radial
  MLP of two hidden layers of 32 (ours as in notebook 04). Trained by nequip's own Lightning
  module and trainer.
* MACE: the package's own architecture (``mace.modules.ScaleShiftMACE`` as ``mace_run_train
  --model MACE`` builds it): 2 interaction layers of correlation order 3 (MACE's default; its
  many-body product is why it needs fewer layers), spherical harmonics up to l = 3 on the edges,
  hidden irreps ``16x0e + 16x1o``, readout MLP ``16x0e``, radial MLP [32, 32], polynomial cutoff
  p = 6; MACE's data pipeline (``AtomicData``, its neighbour lists and loader) and MACE's loss
  (``WeightedEnergyForcesLoss``), in a short training loop of this script's (MACE's own trainer
  has no wall-clock budget).

What still differs is listed in ``DIFFERENCES`` and printed with the table.

The packages are optional benchmark dependencies, each installed in a separate environment so
that they cannot change the tutorial's pinned packages. nequip 0.19.1 works with the tutorial's
e3nn, so the whole benchmark runs in its venv::

    python3.11 -m venv venv-nequip
    venv-nequip/bin/pip install torch==2.13.0   # the CPU wheel (PyTorch's CPU index where needed)
    venv-nequip/bin/pip install nequip==0.19.1 -c constraints.txt   # keeps torch at 2.13.0
    venv-nequip/bin/pip install -e . -c constraints.txt
    venv-nequip/bin/python benchmarks/package_compare.py --n-train 900 --n-valid 100 --seconds 600 --sequential

mace-torch 0.3.16 pins e3nn 0.4.4, so it gets a venv of its own and only its worker runs there
(``--reference-python``); the driver and our model run in the tutorial's environment::

    python3.11 -m venv venv-mace
    echo torch==2.13.0 > torch-pin.txt
    venv-mace/bin/pip install mace-torch==0.3.16 -c torch-pin.txt
    .venv/bin/python benchmarks/package_compare.py --package mace --reference-python venv-mace/bin/python \
        --n-train 900 --n-valid 100 --seconds 600 --sequential

Each run's table, settings, versions and the machine's load are added to
``data/ethanol/<package>_compare.json`` under ``"<frames>/<seconds>s/seed<k>"`` (``--out`` to change).

Without the package the script prints how to install it and returns (a skip, not a failure).

Each model trains in its own subprocess (``--worker ours|nequip|mace``), so that the packages'
global settings (nequip: default dtype float64, e3nn optimisation flags) cannot touch the
tutorial model. By default the two subprocesses train at the same time (one thread each; both
start their clocks only when both are ready), so that on a shared machine both see the same load
from other processes; ``--sequential`` runs one after the other. The table also gives the CPU
time each used: on a loaded machine the CPU-time throughput is the steadier speed comparison.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tools/ and tutorial_utils, also when the package is not installed

DATA = HERE.parent / "data" / "ethanol"
# the versions this script was written and checked against
PACKAGE_VERSIONS = {"nequip": "0.19.1", "mace": "0.3.16"}
DISTRIBUTIONS = {"nequip": "nequip", "mace": "mace-torch"}  # pip names

R_MAX = 4.0  # Å
LR = 5e-3
BATCH_SIZE = 5
ENERGY_WEIGHT, FORCE_WEIGHT = 1.0, 10.0
GRAD_CLIP = 10.0
VALID_BATCH_SIZE = 50

DIFFERENCES_NEQUIP = [
    "architecture details (same sizes otherwise): nequip gates its l > 0 features with SiLU, ours "
    "with a sigmoid; nequip's first layer has no self-connection and its last layer outputs "
    "scalars only, ours has a self-connection in every layer and carries all irreps to the "
    "readout; hence the different parameter counts",
    "ours draws each epoch's frames with replacement, nequip shuffles them (same number per epoch)",
    "ours checks the budget after each epoch (it may overrun by up to one epoch); nequip "
    "(Lightning's max_time) stops after the batch that crosses it: compare the measured seconds",
    "nequip's data pipeline builds each frame's neighbour list when the batch is loaded (inside "
    "its training time), ours builds the graphs once before training",
    "nequip keeps positions and energies in float64 around a float32 network (its default "
    "global state); ours adds the reference energies in float64 around a float32 network",
]
DIFFERENCES_MACE = [
    "architecture: MACE has 2 interaction layers with a many-body (correlation order 3) product "
    "and l <= 3 edge harmonics, ours 3 layers of two-body messages with l <= 1 harmonics (each "
    "package's own design at the same width); hence the different parameter counts",
    "ours draws each epoch's frames with replacement, MACE's loader shuffles them (same number per epoch)",
    "both check the budget after each epoch (each may overrun by up to one epoch): compare the "
    "measured seconds",
    "MACE's training loop is this script's (Adam, clipping, best validation epoch), not "
    "mace_run_train's (which adds AMSGrad, an EMA of the weights, weight decay and a plateau "
    "schedule, but has no wall-clock budget)",
    "MACE builds its graphs once before training, as ours does; its network runs in float32 "
    "(mace_run_train's default is float64)",
]
DIFFERENCES = {"nequip": DIFFERENCES_NEQUIP, "mace": DIFFERENCES_MACE}


def install_hint(package: str, python: str) -> str:
    """How to install ``package`` ("nequip" or "mace") where this script can use it."""
    version = PACKAGE_VERSIONS[package]
    head = (f"{DISTRIBUTIONS[package]} is not installed in the environment of {python}.\n"
            f"Install it in a separate venv, so that the tutorial's pinned packages stay as they are:\n")
    if package == "nequip":
        return head + (f"  python3.11 -m venv venv-nequip && venv-nequip/bin/pip install torch==2.13.0\n"
                       f"  venv-nequip/bin/pip install nequip=={version} -c constraints.txt\n"
                       f"  venv-nequip/bin/pip install -e . -c constraints.txt\n"
                       f"  venv-nequip/bin/python benchmarks/package_compare.py")
    return head + (f"  python3.11 -m venv venv-mace && echo torch==2.13.0 > torch-pin.txt\n"
                   f"  venv-mace/bin/pip install mace-torch=={version} -c torch-pin.txt   # it pins e3nn 0.4.4\n"
                   f"  python benchmarks/package_compare.py --package mace --reference-python venv-mace/bin/python")


def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # already set in this process
        pass


# ----------------------------------------------------------------------------------------
# The frames: one snapshot of the split, shared by both workers
# ----------------------------------------------------------------------------------------


def write_split(workdir: Path, n_train: int, n_valid: int, n_test: int | None, seed: int) -> dict[str, int]:
    """Load the ethanol frames now (the data set grows while DFT runs), split them as notebook 04
    does and write ``split.npz`` (positions Å, energy eV, forces eV/Å for train/valid/test)."""
    from tutorial_utils.potential import load_frames, split_indices

    pool = load_frames(DATA / "ethanol_train.npz")
    test = load_frames(DATA / "ethanol_test.npz")
    if n_train + n_valid > len(pool):
        raise ValueError(f"asked for {n_train} training + {n_valid} validation frames but "
                         f"{DATA / 'ethanol_train.npz'} holds {len(pool)}; lower --n-train or --n-valid")
    train_idx, valid_idx, _ = split_indices(len(pool), n_train, n_valid, 0, seed=seed)
    test_idx = np.arange(len(test) if n_test is None else min(n_test, len(test)))
    arrays = {"numbers": pool.numbers}
    for name, frames, idx in (("train", pool, train_idx), ("valid", pool, valid_idx), ("test", test, test_idx)):
        arrays[f"{name}_positions"] = frames.positions[idx]
        arrays[f"{name}_energy"] = frames.energy[idx]
        arrays[f"{name}_forces"] = frames.forces[idx]
    np.savez(workdir / "split.npz", **arrays)
    return {"train": len(train_idx), "valid": len(valid_idx), "test": len(test_idx),
            "pool": len(pool), "test_file": len(test)}


def read_split(workdir: Path) -> dict[str, np.ndarray]:
    with np.load(workdir / "split.npz", allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _errors(e_pred: np.ndarray, f_pred: np.ndarray, e_true: np.ndarray, f_true: np.ndarray) -> dict[str, float]:
    """MAEs: energy (F,) eV -> meV/atom, force components (F, N, 3) eV/Å -> meV/Å."""
    n_atoms = f_true.shape[1]
    return {"energy_mae_meV_per_atom": 1000 * float(np.abs(e_pred - e_true).mean()) / n_atoms,
            "force_mae_meV_per_A": 1000 * float(np.abs(f_pred - f_true).mean())}


def _wait_for_partner(workdir: Path, side: str, together: bool, timeout: float = 900.0) -> None:
    """With ``together``, start training only when both workers are ready (both have imported,
    read the frames and built their model), so that their training runs overlap in time."""
    if not together:
        return
    (workdir / f"ready_{side}").touch()
    t0 = time.perf_counter()
    while len(list(workdir.glob("ready_*"))) < 2:  # ours and the package's
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError(f"the other worker was not ready after {timeout:.0f} s")
        time.sleep(0.05)


# ----------------------------------------------------------------------------------------
# Worker: the tutorial potential
# ----------------------------------------------------------------------------------------


def worker_ours(workdir: Path, seconds: float, seed: int, together: bool) -> dict:
    import torch

    from tutorial_utils.potential import FrameSet, build_potential, frames_to_data, predict, train_potential
    from tutorial_utils.training import count_parameters

    _one_thread()
    split = read_split(workdir)

    def data(name: str):
        n = len(split[f"{name}_energy"])
        frames = FrameSet(split[f"{name}_positions"], split[f"{name}_energy"], split[f"{name}_forces"],
                          split["numbers"], np.zeros(n, np.int64))
        return frames_to_data(frames, R_MAX)

    train_data, valid_data, test_data = data("train"), data("valid"), data("test")
    species = sorted(set(split["numbers"].tolist()))
    model = build_potential(species, train_data, seed=seed, r_max=R_MAX)
    n_params = count_parameters(model)
    frames_per_epoch = len(train_data)
    # train_potential follows a cosine schedule over `epochs`; so many epochs that the learning
    # rate stays at LR within the budget (the budget, not the epoch count, ends the run)
    _wait_for_partner(workdir, "ours", together)
    cpu0, t0 = time.process_time(), time.perf_counter()
    history = train_potential(model, train_data, valid_data, epochs=10**7, seed=seed, max_seconds=seconds,
                              lr=LR, batch_size=BATCH_SIZE, frames_per_epoch=frames_per_epoch,
                              energy_weight=ENERGY_WEIGHT, force_weight=FORCE_WEIGHT)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    e_pred, f_pred = predict(model, test_data)
    return {"name": "ours (tutorial_utils)", "train_seconds": wall, "train_cpu_seconds": cpu,
            "epochs": history.epochs, "frames_trained": history.epochs * frames_per_epoch,
            "best_epoch": history.best_epoch + 1, "parameters": int(n_params),
            "torch_threads": torch.get_num_threads(),
            **_errors(e_pred, f_pred, split["test_energy"], split["test_forces"])}


# ----------------------------------------------------------------------------------------
# Worker: nequip
# ----------------------------------------------------------------------------------------


def _write_extxyz(path: Path, numbers: np.ndarray, positions: np.ndarray, energy: np.ndarray,
                  forces: np.ndarray) -> None:
    import ase.io
    from ase import Atoms
    from ase.calculators.singlepoint import SinglePointCalculator

    frames = []
    for pos, e, f in zip(positions, energy, forces):
        atoms = Atoms(numbers=numbers, positions=pos)
        atoms.calc = SinglePointCalculator(atoms, energy=float(e), forces=f)
        frames.append(atoms)
    ase.io.write(path, frames, format="extxyz")


def worker_nequip(workdir: Path, seconds: float, seed: int, together: bool) -> dict:
    import lightning
    import nequip
    import torch
    from ase.data import chemical_symbols
    from nequip.data import AtomicDataDict
    from nequip.data.datamodule import ASEDataModule
    from nequip.train import NequIPLightningModule
    from nequip.utils.global_state import set_global_state

    set_global_state()  # what nequip-train does first: float64 default dtype, e3nn flags, seeds
    _one_thread()
    split = read_split(workdir)
    numbers = split["numbers"]
    for name in ("train", "valid", "test"):
        _write_extxyz(workdir / f"{name}.xyz", numbers, split[f"{name}_positions"], split[f"{name}_energy"],
                      split[f"{name}_forces"])
    type_names = [chemical_symbols[z] for z in sorted(set(numbers.tolist()))]
    loader = {"_target_": "torch.utils.data.DataLoader", "batch_size": BATCH_SIZE, "shuffle": True}
    eval_loader = {"_target_": "torch.utils.data.DataLoader", "batch_size": VALID_BATCH_SIZE}
    datamodule = ASEDataModule(
        seed=seed,
        train_file_path=str(workdir / "train.xyz"),
        val_file_path=str(workdir / "valid.xyz"),
        test_file_path=str(workdir / "test.xyz"),
        transforms=[
            {"_target_": "nequip.data.transforms.ChemicalSpeciesToAtomTypeMapper",
             "model_type_names": type_names,
             "chemical_species_to_atom_type_map": {t: t for t in type_names}},
            {"_target_": "nequip.data.transforms.NeighborListTransform", "r_max": R_MAX},
        ],
        train_dataloader=loader, val_dataloader=eval_loader, test_dataloader=eval_loader,
        stats_manager={"_target_": "nequip.data.CommonDataStatisticsManager", "type_names": type_names,
                       "dataloader_kwargs": {"batch_size": VALID_BATCH_SIZE}},
    )
    stats = datamodule.get_statistics(dataset="train")
    model = {
        "_target_": "nequip.model.NequIPGNNModel",
        "seed": seed, "model_dtype": "float32", "type_names": type_names, "r_max": R_MAX,
        "l_max": 1, "parity": False, "num_layers": 3, "num_features": 16,
        "radial_mlp_depth": 2, "radial_mlp_width": 32,
        "num_bessels": 8, "bessel_trainable": True, "polynomial_cutoff_p": 6,
        "avg_num_neighbors": float(stats["num_neighbors_mean"]),
        "per_type_energy_shifts": float(stats["per_atom_energy_mean"]),
        "per_type_energy_scales": float(stats["forces_rms"]),
    }
    loss = {"_target_": "nequip.train.EnergyForceLoss", "per_atom_energy": True,
            "coeffs": {"total_energy": ENERGY_WEIGHT, "forces": FORCE_WEIGHT}}
    module = NequIPLightningModule(
        model=model,
        num_datasets=datamodule.num_datasets,
        optimizer={"_target_": "torch.optim.AdamW", "lr": LR, "weight_decay": 0.0},
        loss=loss,
        # validation selects the best epoch by the training loss itself, as ours does
        val_metrics=loss,
        test_metrics={"_target_": "nequip.train.EnergyForceMetrics"},
        info_dict={},
    )
    n_params = sum(p.numel() for p in module.model.parameters() if p.requires_grad)

    class Measure(lightning.Callback):
        """Counts training frames, times the fit, keeps the weights of the best validation epoch."""

        def __init__(self) -> None:
            self.frames, self.epochs_validated, self.best_epoch = 0, 0, 0
            self.best, self.best_state = float("inf"), None
            self.t0 = self.t1 = self.cpu0 = self.cpu1 = 0.0

        def on_train_start(self, trainer, pl_module) -> None:
            self.t0, self.cpu0 = time.perf_counter(), time.process_time()

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            self.frames += int(batch[AtomicDataDict.NUM_NODES_KEY].shape[0])

        def on_validation_end(self, trainer, pl_module) -> None:
            if trainer.sanity_checking:
                return
            self.epochs_validated += 1
            value = float(trainer.callback_metrics["val0_epoch/weighted_sum"])
            if value < self.best:
                self.best, self.best_epoch = value, self.epochs_validated
                self.best_state = copy.deepcopy(pl_module.model.state_dict())

        def on_train_end(self, trainer, pl_module) -> None:
            self.t1, self.cpu1 = time.perf_counter(), time.process_time()

    measure = Measure()
    trainer = lightning.Trainer(
        accelerator="cpu", devices=1, max_epochs=-1, max_time={"seconds": seconds},
        check_val_every_n_epoch=1, num_sanity_val_steps=0, gradient_clip_val=GRAD_CLIP,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        inference_mode=False, callbacks=[measure],
    )
    module.world_size = trainer.world_size
    _wait_for_partner(workdir, "nequip", together)
    trainer.fit(module, datamodule=datamodule)
    if measure.best_state is not None:
        module.model.load_state_dict(measure.best_state)
    module.eval()
    datamodule.setup("test")
    e_pred, f_pred = [], []
    for batch in datamodule.test_dataloader()[0]:
        out = module(batch)
        e_pred.append(out[AtomicDataDict.TOTAL_ENERGY_KEY].detach().double().reshape(-1).numpy())
        f_pred.append(out[AtomicDataDict.FORCE_KEY].detach().double().numpy())
    n_atoms = len(numbers)
    e_pred = np.concatenate(e_pred)
    f_pred = np.concatenate(f_pred).reshape(len(e_pred), n_atoms, 3)
    return {"name": f"nequip {nequip.__version__}", "train_seconds": measure.t1 - measure.t0,
            "train_cpu_seconds": measure.cpu1 - measure.cpu0, "epochs": measure.epochs_validated,
            "frames_trained": measure.frames, "best_epoch": measure.best_epoch, "parameters": int(n_params),
            "torch_threads": torch.get_num_threads(),
            **_errors(e_pred, f_pred, split["test_energy"], split["test_forces"])}


# ----------------------------------------------------------------------------------------
# Worker: MACE (runs in mace-torch's own venv: numpy, ase, torch and mace only)
# ----------------------------------------------------------------------------------------

MACE_SETTINGS = {"num_interactions": 2, "correlation": 3, "max_ell": 3, "hidden_irreps": "16x0e + 16x1o",
                 "MLP_irreps": "16x0e", "radial_MLP": [32, 32], "num_bessel": 8, "num_polynomial_cutoff": 6}


def _mace_data(split: dict[str, np.ndarray], name: str, z_table) -> list:
    """MACE ``AtomicData`` graphs (cut-off ``R_MAX``) of one part of the split."""
    from mace import data as mace_data

    out = []
    for pos, e, f in zip(split[f"{name}_positions"], split[f"{name}_energy"], split[f"{name}_forces"]):
        config = mace_data.Configuration(
            atomic_numbers=split["numbers"], positions=pos.astype(np.float64),
            properties={"energy": float(e), "forces": f.astype(np.float64)},
            property_weights={"energy": 1.0, "forces": 1.0}, cell=np.zeros((3, 3)), pbc=(False, False, False))
        out.append(mace_data.AtomicData.from_config(config, z_table=z_table, cutoff=R_MAX))
    return out


def _mace_predict(model, loader) -> tuple[np.ndarray, np.ndarray]:
    """Energies (F,) eV and forces (F, N, 3) eV/Å of every frame of ``loader`` (not shuffled)."""
    e, f = [], []
    for batch in loader:
        out = model(batch.to_dict(), training=False, compute_force=True)
        e.append(out["energy"].detach().double().numpy())
        n_graphs = len(batch.ptr) - 1
        f.append(out["forces"].detach().double().numpy().reshape(n_graphs, -1, 3))
    return np.concatenate(e), np.concatenate(f)


def worker_mace(workdir: Path, seconds: float, seed: int, together: bool) -> dict:
    import mace
    import torch
    from e3nn import o3
    from mace import modules, tools
    from mace.modules.loss import WeightedEnergyForcesLoss
    from mace.tools import torch_geometric

    _one_thread()
    torch.set_default_dtype(torch.float32)
    torch.manual_seed(seed)
    np.random.seed(seed)
    split = read_split(workdir)
    numbers = split["numbers"]
    z_table = tools.AtomicNumberTable(sorted(set(numbers.tolist())))
    train, valid, test = (_mace_data(split, name, z_table) for name in ("train", "valid", "test"))
    loader = torch_geometric.DataLoader(train, batch_size=BATCH_SIZE, shuffle=True, drop_last=False)
    eval_loader = lambda d: torch_geometric.DataLoader(d, batch_size=VALID_BATCH_SIZE, shuffle=False)  # noqa: E731
    # the same normalisation as ours and nequip's: per-atom shift = mean energy per atom, scale = RMS force
    e_per_atom = float(np.mean(split["train_energy"])) / len(numbers)
    forces_rms = float(np.sqrt(np.mean(split["train_forces"] ** 2)))
    avg_num_neighbors = modules.compute_avg_num_neighbors(eval_loader(train))
    cfg = MACE_SETTINGS
    model = modules.ScaleShiftMACE(
        r_max=R_MAX, num_bessel=cfg["num_bessel"], num_polynomial_cutoff=cfg["num_polynomial_cutoff"],
        max_ell=cfg["max_ell"], interaction_cls=modules.interaction_classes["RealAgnosticResidualInteractionBlock"],
        interaction_cls_first=modules.interaction_classes["RealAgnosticInteractionBlock"],
        num_interactions=cfg["num_interactions"], num_elements=len(z_table),
        hidden_irreps=o3.Irreps(cfg["hidden_irreps"]),
        MLP_irreps=o3.Irreps(cfg["MLP_irreps"]), atomic_energies=np.full(len(z_table), e_per_atom),
        avg_num_neighbors=avg_num_neighbors, atomic_numbers=z_table.zs, correlation=cfg["correlation"],
        gate=torch.nn.functional.silu, radial_MLP=cfg["radial_MLP"],
        atomic_inter_scale=forces_rms, atomic_inter_shift=0.0)
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    loss_fn = WeightedEnergyForcesLoss(energy_weight=ENERGY_WEIGHT, forces_weight=FORCE_WEIGHT)
    optimiser = torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=0.0)
    _wait_for_partner(workdir, "mace", together)
    cpu0, t0 = time.process_time(), time.perf_counter()
    frames, epochs, best_epoch, best, best_state = 0, 0, 0, float("inf"), None
    while time.perf_counter() - t0 < seconds:
        model.train()
        for batch in loader:
            optimiser.zero_grad()
            out = model(batch.to_dict(), training=True, compute_force=True)
            loss = loss_fn(batch, out)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), GRAD_CLIP)
            optimiser.step()
            frames += len(batch.ptr) - 1
        epochs += 1
        model.eval()
        value = 0.0
        for batch in eval_loader(valid):  # the training loss on the validation frames, as ours
            out = model(batch.to_dict(), training=False, compute_force=True)
            value += float(loss_fn(batch, out).detach()) * (len(batch.ptr) - 1)
        if value < best:
            best, best_epoch, best_state = value, epochs, copy.deepcopy(model.state_dict())
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if best_state is not None:
        model.load_state_dict(best_state)
    e_pred, f_pred = _mace_predict(model, eval_loader(test))
    return {"name": f"MACE {mace.__version__}", "train_seconds": wall, "train_cpu_seconds": cpu,
            "epochs": epochs, "frames_trained": frames, "best_epoch": best_epoch, "parameters": int(n_params),
            "torch_threads": torch.get_num_threads(), "architecture": cfg,
            **_errors(e_pred, f_pred, split["test_energy"], split["test_forces"])}


WORKERS = {"ours": worker_ours, "nequip": worker_nequip, "mace": worker_mace}


# ----------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------


def _start_worker(side: str, python: str, workdir: Path, seconds: float, seed: int,
                  together: bool) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "TUTORIAL_PROGRESS": "0",
           "PYTHONWARNINGS": "ignore"}
    cmd = [python, str(Path(__file__).resolve()), "--worker", side, "--workdir", str(workdir),
           "--seconds", str(seconds), "--seed", str(seed)] + (["--together"] if together else [])
    with open(workdir / f"log_{side}.txt", "w") as log:  # the child keeps its own copy of the handle
        return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)


def _finish_worker(proc: subprocess.Popen, side: str, workdir: Path, timeout: float) -> dict:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    result_file = workdir / f"result_{side}.json"
    if proc.returncode != 0 or not result_file.is_file():
        tail = (workdir / f"log_{side}.txt").read_text()[-4000:]
        raise RuntimeError(f"the {side} worker failed (exit code {proc.returncode}):\n{tail}")
    return json.loads(result_file.read_text())


def run_workers(workdir: Path, package: str, reference_python: str, seconds: float, seed: int,
                together: bool) -> list[dict]:
    """Train both models, at the same time (``together``: both see the same load from other
    processes on a shared machine) or one after the other. Returns [ours, package's]."""
    timeout = 3 * seconds + 600  # budget, one epoch of overrun, start-up, statistics, evaluation
    sides = [("ours", sys.executable), (package, reference_python)]
    if together:
        procs = [_start_worker(side, py, workdir, seconds, seed, together) for side, py in sides]
        return [_finish_worker(p, side, workdir, timeout) for p, (side, _) in zip(procs, sides)]
    return [_finish_worker(_start_worker(side, py, workdir, seconds, seed, together), side, workdir, timeout)
            for side, py in sides]


def _reference_versions(package: str, python: str) -> dict[str, str] | None:
    """Versions of the package and its torch / e3nn in the environment of ``python``; None
    where the package is not installed there."""
    names = [DISTRIBUTIONS[package], "torch", "e3nn"] + (["lightning"] if package == "nequip" else [])
    code = ("import importlib.metadata as m, json, sys\n"
            "try:\n    print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))\n"
            "except m.PackageNotFoundError:\n    print('null')")
    try:
        out = subprocess.run([python, "-c", code, *names], capture_output=True, text=True, timeout=120, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return json.loads(out.stdout.strip() or "null")


def _print_table(results: list[dict], counts: dict[str, int], seconds: float, package: str) -> None:
    ours, ref = results
    for r in results:
        r["throughput"] = r["frames_trained"] / r["train_seconds"]
        r["throughput_cpu"] = r["frames_trained"] / r["train_cpu_seconds"]
        r["cpu_share"] = r["train_cpu_seconds"] / r["train_seconds"]
    rows = [
        ("force MAE [meV/Å]", "force_mae_meV_per_A", "{:.1f}"),
        ("energy MAE [meV/atom]", "energy_mae_meV_per_atom", "{:.2f}"),
        ("training frames / s (wall)", "throughput", "{:.1f}"),
        ("training frames / s (CPU)", "throughput_cpu", "{:.1f}"),
        ("training seconds (wall)", "train_seconds", "{:.1f}"),
        ("CPU share while training", "cpu_share", "{:.2f}"),
        ("frames trained", "frames_trained", "{:d}"),
        ("epochs (validated)", "epochs", "{:d}"),
        ("best epoch", "best_epoch", "{:d}"),
        ("trainable parameters", "parameters", "{:d}"),
    ]
    print(f"ethanol DFT: {counts['train']} training + {counts['valid']} validation frames (of {counts['pool']}), "
          f"{counts['test']} test frames (held out, of {counts['test_file']}); budget {seconds:.0f} s each, "
          f"1 torch thread each")
    w = 30
    print(f"  {'':{w}s} {ours['name']:>22s} {ref['name']:>14s} {'ours / ' + package:>14s}")
    for label, key, fmt in rows:
        a, b = ours[key], ref[key]
        ratio = a / b if b else float("nan")
        print(f"  {label:{w}s} {fmt.format(a):>22s} {fmt.format(b):>14s} {ratio:14.2f}")
    print("  MAE ratio below 1: ours is more accurate; throughput ratio above 1: ours trains faster.")
    print("  Settings that still differ:")
    for d in DIFFERENCES[package]:
        print(f"   - {d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--package", choices=sorted(PACKAGE_VERSIONS), default="nequip",
                        help="the package to compare with (default nequip)")
    parser.add_argument("--reference-python", default=sys.executable,
                        help="the Python of the package's own venv (default: this one); ours runs in this one")
    parser.add_argument("--seconds", type=float, default=120.0, help="wall-clock training budget per model (s)")
    parser.add_argument("--n-train", type=int, default=200, help="training frames (default 200)")
    parser.add_argument("--n-valid", type=int, default=50, help="validation frames (default 50)")
    parser.add_argument("--n-test", type=int, default=None, help="test frames (default: all of the test file)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sequential", action="store_true",
                        help="train one model after the other (default: both at once, one thread each, "
                             "so that both see the same load on a shared machine)")
    parser.add_argument("--out", default=None,
                        help="JSON the results are added to (one entry per size, budget and seed; default "
                             "data/ethanol/<package>_compare.json); --out '' writes none")
    parser.add_argument("--worker", choices=sorted(WORKERS), help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--together", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        result = WORKERS[args.worker](args.workdir, args.seconds, args.seed, args.together)
        (args.workdir / f"result_{args.worker}.json").write_text(json.dumps(result))
        return 0

    package = args.package
    if shutil.which(args.reference_python) is None:
        parser.error(f"--reference-python {args.reference_python}: no such program; give the python of the "
                     f"venv where {DISTRIBUTIONS[package]} is installed (see this script's docstring)")
    versions = _reference_versions(package, args.reference_python)
    if versions is None:
        print(install_hint(package, args.reference_python))
        print(f"SKIPPED: package_compare --package {package} needs the optional {DISTRIBUTIONS[package]} "
              "package (see above)")
        return 0
    from tools.datagen import write_json_atomically

    # --out '' writes no file (Path('') would be the current directory)
    out_path = DATA / f"{package}_compare.json" if args.out is None else (Path(args.out) if args.out else None)
    print("versions:", ", ".join(f"{k} {v}" for k, v in versions.items()), f"| Python {platform.python_version()}")
    if versions[DISTRIBUTIONS[package]] != PACKAGE_VERSIONS[package]:
        print(f"note: written against {DISTRIBUTIONS[package]} {PACKAGE_VERSIONS[package]}; "
              f"this is {versions[DISTRIBUTIONS[package]]}")
    with tempfile.TemporaryDirectory(prefix="package_compare_") as tmp:
        workdir = Path(tmp)
        counts = write_split(workdir, args.n_train, args.n_valid, args.n_test, args.seed)
        together = not args.sequential and (os.cpu_count() or 1) >= 2
        load0, t0 = os.getloadavg()[0], time.perf_counter()
        results = run_workers(workdir, package, args.reference_python, args.seconds, args.seed, together)
        load1, elapsed = os.getloadavg()[0], time.perf_counter() - t0
    _print_table(results, counts, args.seconds, package)
    if out_path is not None:
        key = f"{counts['train']}/{args.seconds:.0f}s/seed{args.seed}"
        entry = {"counts": counts, "seconds": args.seconds, "seed": args.seed, "versions": versions,
                 "settings": {"lr": LR, "batch_size": BATCH_SIZE, "energy_weight": ENERGY_WEIGHT,
                              "force_weight": FORCE_WEIGHT, "grad_clip": GRAD_CLIP, "r_max": R_MAX,
                              "threads": 1, "together": together},
                 "load_average": [round(load0, 2), round(load1, 2)],
                 "made_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                 "ours": results[0], package: results[1]}
        old = json.loads(out_path.read_text()) if out_path.is_file() else {}
        old[key] = entry
        write_json_atomically(out_path, old)  # a stopped run never leaves half a file
        print(f"  results added to {out_path} as {key!r}")
    print(f"  run: both models trained {'at the same time' if together else 'one after the other'}, "
          f"{elapsed:.0f} s in all; {os.cpu_count()} CPU(s), load average {load0:.1f} before and "
          f"{load1:.1f} after. CPU share = CPU seconds / wall seconds of training: below 1, other "
          "processes took part of the CPU and the CPU-time throughput is the fairer speed comparison.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
