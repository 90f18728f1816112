"""The NequIP-style potential: symmetry, conservative forces, ASE calculator, NVE, data loader."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from ase import units
from ase.build import molecule
from ase.md.verlet import VelocityVerlet
from torch_geometric.loader import DataLoader

from tutorial_utils.graphs import atoms_to_data
from tutorial_utils.potential import (
    BesselBasis,
    EquivariantCalculator,
    EquivariantPotential,
    PolynomialCutoff,
    average_num_neighbors,
    energy_force_loss,
    fit_energy_reference,
    frames_to_data,
    load_frames,
    split_indices,
)
from tutorial_utils.symmetry import assert_equivariant, random_o3
from tutorial_utils.training import train

SPECIES = [1, 6, 8]


def _ethanol(seed: int = 0, noise: float = 0.05):
    """Ethanol with its atoms displaced by ``noise`` Å (a generic, asymmetric geometry)."""
    atoms = molecule("CH3CH2OH")
    rng = np.random.default_rng(seed)
    atoms.positions += rng.normal(0.0, noise, atoms.positions.shape)
    return atoms


def _model(l_max: int = 1, r_max: float = 4.0, seed: int = 0, **kwargs) -> EquivariantPotential:
    torch.manual_seed(seed)
    return EquivariantPotential(SPECIES, r_max=r_max, l_max=l_max, num_layers=2, mul=8, **kwargs)


def _energy_forces(model):
    return lambda data: model.energy_forces(data)


@pytest.mark.parametrize(("l_max", "parity"), [(0, False), (1, False), (2, False), (1, True)])
def test_energy_invariant_forces_equivariant(float64, l_max, parity):
    model = _model(l_max, parity=parity)
    data = atoms_to_data(_ethanol(), r_max=model.r_max)
    err = assert_equivariant(_energy_forces(model), data, ["0e", "1o"], ntrials=3)
    assert err < 1e-9


def test_equivariance_check_catches_a_broken_model(float64):
    """A model that adds a fixed direction to the forces must fail the same check."""
    model = _model(1)
    data = atoms_to_data(_ethanol(), r_max=model.r_max)
    kick = torch.tensor([0.3, 0.0, 0.0])

    def broken(d):
        e, f = model.energy_forces(d)
        return e, f + kick

    with pytest.raises(AssertionError):
        assert_equivariant(broken, data, ["0e", "1o"], ntrials=2)


def test_forces_are_minus_the_finite_difference_gradient(float64):
    model = _model(2, parity=True)
    atoms = _ethanol(1)
    data = atoms_to_data(atoms, r_max=model.r_max)
    _, forces = model.energy_forces(data)
    h = 1e-5  # Å; central differences: error ~ h^2 * E''' ~ 1e-10, round-off ~ 1e-16 / h ~ 1e-11
    fd = torch.zeros_like(forces)
    with torch.no_grad():
        for a in range(len(atoms)):
            for x in range(3):
                e = []
                for sign in (1, -1):
                    moved = data.clone()
                    moved.pos = data.pos.clone()
                    moved.pos[a, x] += sign * h
                    e.append(float(model(moved)))
                fd[a, x] = -(e[0] - e[1]) / (2 * h)
    assert forces.abs().max() > 1e-3  # the check is not trivially passed by zero forces
    assert torch.allclose(forces, fd, atol=1e-7, rtol=1e-6), (forces - fd).abs().max()


def test_permutation_of_like_atoms(float64):
    model = _model(1)
    atoms = _ethanol(2)
    hydrogens = np.flatnonzero(atoms.numbers == 1)
    perm = np.arange(len(atoms))
    perm[hydrogens] = np.random.default_rng(0).permutation(hydrogens)
    assert (perm != np.arange(len(atoms))).any()
    e1, f1 = model.energy_forces(atoms_to_data(atoms, model.r_max))
    e2, f2 = model.energy_forces(atoms_to_data(atoms[perm], model.r_max))
    assert torch.allclose(e1, e2, atol=1e-10)
    assert torch.allclose(f1[perm], f2, atol=1e-10)


def test_radial_embedding_vanishes_smoothly_at_the_cutoff(float64):
    cutoff = PolynomialCutoff(r_max=3.0, p=6)
    r = torch.tensor([2.999999, 3.0, 3.5], requires_grad=True)
    f = cutoff(r)
    (df,) = torch.autograd.grad(f.sum(), r)
    assert f.abs().max() < 1e-12 and df.abs().max() < 1e-9
    assert math.isclose(float(cutoff(torch.tensor([0.0]))), 1.0)
    basis = BesselBasis(r_max=3.0, num_basis=4)(torch.tensor([3.0]))
    assert basis.abs().max() < 1e-6  # sin(n pi) = 0: the basis itself also vanishes there


def test_unknown_species_or_short_graph_gives_a_clear_error():
    model = _model(0)
    data = atoms_to_data(molecule("CH3NO2"), r_max=model.r_max)
    with pytest.raises(ValueError, match="species"):
        model(data)
    with pytest.raises(ValueError, match="r_max"):
        model(atoms_to_data(molecule("CH3CH2OH"), r_max=model.r_max - 1.0))


def test_calculator_round_trip(float64):
    model = _model(1)
    model.atomic_energies.copy_(torch.tensor([-13.6, -1029.0, -2041.0], dtype=torch.float64))
    atoms = _ethanol(3)
    atoms.calc = EquivariantCalculator(model)
    energy, forces = model.energy_forces(atoms_to_data(atoms, model.r_max))
    assert math.isclose(atoms.get_potential_energy(), float(energy.detach()), rel_tol=0, abs_tol=1e-9)
    assert np.allclose(atoms.get_forces(), forces.detach().numpy(), atol=1e-10)
    # the calculator follows the atoms: rotate them and the forces rotate with them
    Q = random_o3(dtype=torch.float64).numpy()
    f_before = atoms.get_forces()
    atoms.positions = atoms.positions @ Q.T
    assert np.allclose(atoms.get_forces(), f_before @ Q.T, atol=1e-9)


def _nve_energy_error(model, dt_fs: float, duration_fs: float, seed: int = 0) -> tuple[float, int]:
    """Largest |E_total(t) - E_total(0)| (eV) of a VelocityVerlet run and the number of times the
    edge list changed (atoms crossing the cutoff)."""
    atoms = _ethanol(4, noise=0.02)
    atoms.calc = EquivariantCalculator(model)
    rng = np.random.default_rng(seed)
    # 300 K Maxwell-Boltzmann velocities, centre-of-mass motion removed
    sigma = np.sqrt(units.kB * 300.0 / atoms.get_masses())[:, None]
    p = rng.normal(size=(len(atoms), 3)) * sigma * atoms.get_masses()[:, None]
    atoms.set_momenta(p - p.mean(0))
    e0 = atoms.get_total_energy()
    dyn = VelocityVerlet(atoms, timestep=dt_fs * units.fs)
    worst, crossings = 0.0, 0
    edges = atoms_to_data(atoms, model.r_max).edge_index.shape[1]
    for _ in range(int(round(duration_fs / dt_fs))):
        dyn.run(1)
        worst = max(worst, abs(atoms.get_total_energy() - e0))
        n = atoms_to_data(atoms, model.r_max).edge_index.shape[1]
        crossings += n != edges
        edges = n
    return worst, crossings


def test_nve_conserves_energy(float64):
    """Velocity Verlet with a conservative, smooth force field keeps the total energy within an
    O(dt^2) band: halving dt must shrink the error about 4x, and at dt = 0.5 fs the error must
    be far below the thermal energy of the molecule ((3N/2) kB T ~ 0.35 eV at 300 K).

    A small r_max (2.6 Å) makes atoms cross the cutoff during the run, so the smooth cutoff is
    tested too: a hard cutoff gives jumps of the energy that do not shrink with dt.
    """
    model = _model(1, r_max=2.6, seed=1)
    model.scale.fill_(0.5)
    err_dt, crossings = _nve_energy_error(model, dt_fs=0.5, duration_fs=40.0)
    err_half, _ = _nve_energy_error(model, dt_fs=0.25, duration_fs=40.0)
    assert crossings > 0, "no atom crossed the cutoff; the test would not check smoothness"
    assert err_dt < 5e-3, f"energy error {err_dt:.2e} eV at dt = 0.5 fs"
    assert err_dt / err_half > 2.5, f"error ratio {err_dt / err_half:.2f}, expected ~4 for an O(dt^2) integrator"


# ---------------------------------------------------------------------------- data loader


def _write_frames(path, n_frames: int = 6, seed: int = 0, **override):
    rng = np.random.default_rng(seed)
    atoms = molecule("CH3CH2OH")
    pos = atoms.positions[None] + rng.normal(0.0, 0.05, (n_frames, len(atoms), 3))
    arrays = dict(positions=pos, energy=-4200.0 + rng.normal(0.0, 0.1, n_frames),
                  forces=rng.normal(0.0, 1.0, pos.shape), numbers=atoms.numbers.astype(np.int64),
                  converged=np.ones(n_frames, bool),
                  metadata=np.array('{"units": {"energy": "eV", "forces": "eV/Angstrom"}}'))
    arrays.update(override)
    arrays = {k: v for k, v in arrays.items() if v is not None}
    np.savez(path, **arrays)
    return path


def test_loader_reads_parts_and_builds_graphs(tmp_path):
    a = _write_frames(tmp_path / "a.npz", 6, seed=0)
    b = _write_frames(tmp_path / "b.npz", 4, seed=1, converged=np.array([1, 1, 0, 1], bool))
    with pytest.warns(UserWarning, match="did not converge"):
        frames = load_frames([a, b])
    assert len(frames) == 9 and frames.positions.shape == (9, 9, 3)
    assert frames.source.tolist() == [0] * 6 + [1] * 3
    data = frames_to_data(frames, r_max=4.0)
    assert len(data) == 9 and data[0].energy.dtype == torch.float64
    assert 0 < average_num_neighbors(data) <= 8  # at most every other atom of the molecule
    assert np.allclose(data[7].forces.numpy(), frames.forces[7], atol=1e-6)
    batch = next(iter(DataLoader(data, batch_size=4)))
    assert batch.energy.shape == (4,) and batch.forces.shape == (36, 3)


def test_loader_rejects_a_corrupt_file(tmp_path):
    path = _write_frames(tmp_path / "part.npz")
    raw = path.read_bytes()
    path.write_bytes(raw[: len(raw) // 2])  # a truncated download
    with pytest.raises(ValueError, match="corrupt"):
        load_frames(path)


def test_loader_names_a_missing_key(tmp_path):
    path = _write_frames(tmp_path / "part.npz", forces=None)
    with pytest.raises(ValueError, match="forces"):
        load_frames(path)


def test_loader_rejects_wrong_units_and_shapes(tmp_path):
    path = _write_frames(tmp_path / "u.npz", metadata=np.array('{"units": {"energy": "Hartree"}}'))
    with pytest.raises(ValueError, match="Hartree"):
        load_frames(path)
    path = _write_frames(tmp_path / "s.npz", energy=np.zeros(5))
    with pytest.raises(ValueError, match="shapes"):
        load_frames(path)


def test_energy_reference_fit():
    model = _model(0)
    eps = {1: -13.6, 6: -1029.0, 8: -2041.0}
    data = []
    for name in ("CH3CH2OH", "CH3OH", "H2O", "CH4"):
        atoms = molecule(name)
        e = sum(eps[int(z)] for z in atoms.numbers)
        data.append(atoms_to_data(atoms, 4.0, energy=torch.tensor([e], dtype=torch.float64),
                                  forces=torch.ones(len(atoms), 3)))
    fit = fit_energy_reference(model, data)
    assert np.allclose(model.atomic_energies.numpy(), [eps[1], eps[6], eps[8]], atol=1e-8)
    assert fit["energy_rms_after_reference"] < 1e-8 and math.isclose(fit["scale"], 1.0)
    # one composition only: every species gets the mean energy per atom
    fit_energy_reference(model, data[:1])
    assert np.allclose(model.atomic_energies.numpy(), float(data[0].energy) / 9, atol=1e-8)


def test_split_is_disjoint_reproducible_and_nested():
    train_a, valid_a, test_a = split_indices(100, 50, 10, 20, seed=3)
    assert len(set(train_a) | set(valid_a) | set(test_a)) == 80
    train_b, valid_b, test_b = split_indices(100, 25, 10, 20, seed=3)
    assert set(train_b) <= set(train_a) and (valid_a == valid_b).all() and (test_a == test_b).all()
    with pytest.raises(ValueError, match="cannot split"):
        split_indices(10, 8, 2, 1)


# ---------------------------------------------------------------------------- training


def test_training_on_a_few_frames_reduces_the_loss():
    """A smoke check of the whole chain: EMT labels on distorted ethanol, reference energies,
    the shared training loop; the validation loss must fall well below its starting value."""
    from ase.calculators.emt import EMT

    data = []
    for k in range(12):
        atoms = _ethanol(10 + k, noise=0.08)
        atoms.calc = EMT()
        data.append(atoms_to_data(atoms, 4.0,
                                  energy=torch.tensor([atoms.get_potential_energy()], dtype=torch.float64),
                                  forces=torch.as_tensor(atoms.get_forces(), dtype=torch.get_default_dtype())))
    model = _model(1)
    fit_energy_reference(model, data[:8])
    loss_fn = energy_force_loss(energy_weight=1.0, force_weight=1.0)
    train_loader = DataLoader(data[:8], batch_size=4, shuffle=True, generator=torch.Generator().manual_seed(0))
    valid_loader = DataLoader(data[8:], batch_size=4)
    history = train(model, loss_fn, train_loader, valid_loader, epochs=15, lr=5e-3, eval_grad=True)
    assert history.best_valid_loss < 0.5 * history.valid_loss[0], history.valid_loss
    assert "force_mae_meV_per_A" in history.valid_metrics


# ---------------------------------------------------------------------------- build, train, evaluate


def _toy_frames(n: int, seed: int = 0):
    """Ethanol frames labelled by a fixed random model (a learnable target)."""
    atoms = molecule("CH3CH2OH")
    rng = np.random.default_rng(seed)
    teacher = _model(1, seed=123)
    data = []
    for _ in range(n):
        a = atoms.copy()
        a.positions += rng.normal(0, 0.08, a.positions.shape)
        g = atoms_to_data(a, 4.0)
        e, f = teacher.energy_forces(g)
        data.append(atoms_to_data(a, 4.0, energy=e.detach().double().reshape(1), forces=f.detach()))
    return data


def test_build_train_predict_and_save_load(tmp_path):
    from tutorial_utils.potential import build_potential, mean_absolute_errors, predict, train_potential

    data = _toy_frames(30)
    model = build_potential(SPECIES, data[:20], l_max=1, mul=8, num_layers=2)
    before = mean_absolute_errors(model, data[20:])["force_mae_meV_per_A"]
    history = train_potential(model, data[:20], data[20:25], epochs=4, frames_per_epoch=40, batch_size=5)
    after = mean_absolute_errors(model, data[25:])["force_mae_meV_per_A"]
    assert history.epochs == 4 and after < before  # it learns
    e, f = predict(model, data[25:])
    assert e.shape == (5,) and f.shape == (5, 9, 3)
    # a state_dict alone (weights_only) restores the model exactly, normalisation included
    torch.save(model.state_dict(), tmp_path / "w.pt")
    other = build_potential(SPECIES, data[:3], l_max=1, mul=8, num_layers=2, seed=5)
    other.load_state_dict(torch.load(tmp_path / "w.pt", weights_only=True))
    e2, f2 = predict(other, data[25:])
    assert np.allclose(e, e2) and np.allclose(f, f2)
    with pytest.raises(TypeError, match="unknown hyperparameter"):
        build_potential(SPECIES, data, lmax=2)
    with pytest.raises(TypeError, match="unknown training setting"):
        train_potential(model, data, data, epochs=1, learning_rate=1.0)


def test_train_potential_on_a_wall_clock_budget():
    """schedule="cosine_time": the budget, not the epoch cap, ends the run, at a learning rate near 0."""
    from tutorial_utils.potential import build_potential, train_potential

    data = _toy_frames(12)
    model = build_potential(SPECIES, data[:8], l_max=1, mul=4, num_layers=1)
    history = train_potential(model, data[:8], data[8:10], epochs=10_000, frames_per_epoch=4, batch_size=4,
                              schedule="cosine_time", max_seconds=2.0, ema_decay=0.9)
    assert 2 < history.epochs < 10_000 and not history.stopped_early  # one step an epoch: many epochs
    assert history.lr[-1] < 0.2 * history.lr[0]


def test_frames_for_error_interpolates_and_extrapolates():
    from tutorial_utils.potential import frames_for_error

    sizes = [10, 100, 1000]
    errs = [100.0, 10.0, 1.0]  # error = 1000 / N
    n, extrapolated = frames_for_error(sizes, errs, 31.6227766)
    assert n == pytest.approx(31.6227766, rel=1e-6) and not extrapolated
    n, extrapolated = frames_for_error(sizes, errs, 0.1)
    assert n == pytest.approx(10000, rel=1e-6) and extrapolated
    n, extrapolated = frames_for_error(sizes, errs, 500.0)
    assert n == pytest.approx(10.0) and not extrapolated
    assert frames_for_error([10, 100], [5.0, 6.0], 1.0)[0] == math.inf  # a curve that does not fall


SHIPPED = Path(__file__).resolve().parents[1] / "data" / "ethanol" / "ethanol_potential.pt"


@pytest.mark.skipif(not SHIPPED.exists(), reason="no shipped checkpoint yet")
def test_shipped_checkpoint_loads_and_is_trained():
    """Notebook 04's "load" path: the shipped weights fit the architecture and predict the
    held-out DFT forces far better than an untrained model."""
    from tutorial_utils.potential import MODEL_HPARAMS, build_potential, mean_absolute_errors

    frames = load_frames(SHIPPED.parent / "ethanol_test.npz")
    data = frames_to_data(frames, MODEL_HPARAMS["r_max"], range(40))
    model = build_potential(SPECIES, data)
    untrained = mean_absolute_errors(model, data)["force_mae_meV_per_A"]
    model.load_state_dict(torch.load(SHIPPED, weights_only=True))
    trained = mean_absolute_errors(model, data)
    assert trained["force_mae_meV_per_A"] < 0.3 * untrained
    assert trained["force_mae_meV_per_A"] < 150 and trained["energy_mae_meV_per_atom"] < 10


@pytest.mark.parametrize("labels", ["dft", "xtb"])
def test_pretrained_gives_the_recorded_held_out_errors(labels):
    """``pretrained(labels=...)`` returns the shipped model (state_dict, weights_only) trained on
    those labels, with the held-out errors data/ethanol/train_potential.py recorded against the
    same labels when it made the weights."""
    import json

    from tutorial_utils.potential import MODEL_HPARAMS, label_keys, mean_absolute_errors, pretrained, pretrained_card

    stem = "ethanol_potential" if labels == "dft" else f"ethanol_potential_{labels}"
    card = pretrained_card(labels=labels)  # fetched through the registry, sha256 checked
    assert card == json.loads((SHIPPED.parent / f"{stem}.json").read_text())
    assert card.get("labels", "dft") == labels and card["model"] == MODEL_HPARAMS
    model = pretrained(labels=labels)
    assert not model.training and model.species == [1, 6, 8]
    energy_key, forces_key = label_keys(labels)
    frames = load_frames(SHIPPED.parent / "ethanol_test.npz", energy_key=energy_key, forces_key=forces_key)
    got = mean_absolute_errors(model, frames_to_data(frames, MODEL_HPARAMS["r_max"]))
    for key, value in card["errors"]["test"].items():
        assert abs(got[key] - value) < 2e-3, (key, got[key], value)  # recorded to 3 decimals


def test_the_two_shipped_models_differ_where_their_labels_do():
    """The xTB-trained copy is closer to the xTB forces and the DFT-trained model to the DFT
    forces: each learned its own surface (the like-for-like MD check relies on this)."""
    from tutorial_utils.potential import MODEL_HPARAMS, label_keys, mean_absolute_errors, pretrained

    errors = {}
    for model_labels in ("dft", "xtb"):
        model = pretrained(labels=model_labels)
        for data_labels in ("dft", "xtb"):
            energy_key, forces_key = label_keys(data_labels)
            frames = load_frames(SHIPPED.parent / "ethanol_test.npz", energy_key=energy_key, forces_key=forces_key)
            data = frames_to_data(frames, MODEL_HPARAMS["r_max"], range(40))
            errors[model_labels, data_labels] = mean_absolute_errors(model, data)["force_mae_meV_per_A"]
    assert errors["xtb", "xtb"] < errors["dft", "xtb"]
    assert errors["dft", "dft"] < errors["xtb", "dft"]


def test_unknown_labels_say_what_to_choose():
    from tutorial_utils.potential import held_out_errors, label_keys, pretrained

    for call in (lambda: label_keys("ccsd"), lambda: pretrained(labels="ccsd"),
                 lambda: held_out_errors(None, labels="ccsd")):  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"unknown labels 'ccsd'.*\['dft', 'xtb'\]"):
            call()


def test_train_potential_script_writes_candidates_outside_the_registry(tmp_path):
    """``data/ethanol/train_potential.py --out DIR`` writes the weights and their card to DIR and
    leaves the shipped weights and the manifest untouched; a non-positive budget is refused."""
    import json

    from .benchmark_scripts import load_script

    script = load_script("data/ethanol/train_potential.py")
    manifest = SHIPPED.parents[2] / "tutorial_utils" / "data" / "manifests" / "ethanol.json"
    before = manifest.read_bytes(), SHIPPED.read_bytes()
    with pytest.raises(SystemExit):
        script.main(["--seconds", "0"])
    threads = torch.get_num_threads()
    try:
        assert script.main(["--seconds", "2", "--ema-decay", "0.99", "--frames-per-epoch", "40",
                            "--energy-weight", "10", "--out", str(tmp_path)]) == 0
    finally:
        torch.set_num_threads(threads)  # the script sets its own thread count
    card = json.loads((tmp_path / "ethanol_potential.json").read_text())
    assert card["training"]["ema_decay"] == 0.99 and card["training"]["frames_per_epoch"] == 40
    assert card["training"]["energy_weight"] == 10 and card["epochs"] >= 1
    assert set(card["errors"]) == {"test", "t300", "t700"}
    torch.load(tmp_path / "ethanol_potential.pt", weights_only=True)
    assert (manifest.read_bytes(), SHIPPED.read_bytes()) == before
