"""The phonon DoS network and its helpers (tutorial_utils.phonons) and the phonon data loader.

Invariance: the predicted DoS must not change under rotations/inversions/translations of
the crystal, nor under the choice of cell (primitive, conventional, supercell).
Loader: a corrupt mirror file fails its checksum; a malformed row is named."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from ase.build import bulk

from tutorial_utils.data.phonon import MalformedRowError, load_phonon_dos
from tutorial_utils.phonons import (
    CM1_TO_K,
    N_ELEMENTS,
    PhononDoSNet,
    average_frequency,
    cell_variants,
    crystal_to_data,
    dos_metrics,
    element_stratified_split,
    heat_capacity,
    node_features,
)
from tutorial_utils.symmetry import assert_equivariant, random_o3, transform_atoms

R_MAX = 4.0


def small_model(**kwargs) -> PhononDoSNet:
    torch.manual_seed(0)
    model = PhononDoSNet(r_max=R_MAX, l_max=2, mul=8, mul_vec=2, num_layers=2, num_basis=6,
                         radial_hidden=8, **kwargs)
    with torch.no_grad():  # the element embedding starts at zero: give it values to test
        model.embedding.weight.normal_()
    return model.eval()


def crystals():
    """A cubic rocksalt (primitive 2 atoms, conventional 8), a hexagonal wurtzite, and a
    distorted low-symmetry cell."""
    nacl = bulk("NaCl", "rocksalt", a=5.64)
    zno = bulk("ZnO", "wurtzite", a=3.25, c=5.21)
    low = bulk("GaAs", "zincblende", a=5.65)
    low.set_cell(low.cell[:] @ np.array([[1.0, 0.03, 0.0], [0.0, 1.0, 0.05], [0.02, 0.0, 1.0]]), scale_atoms=True)
    low.positions[0] += [0.05, -0.03, 0.02]
    return {"NaCl": nacl, "ZnO": zno, "GaAs-distorted": low}


@pytest.mark.parametrize("name", list(crystals()))
def test_prediction_is_invariant_under_o3_and_translation(float64, name):
    model = small_model()
    data = crystal_to_data(crystals()[name], R_MAX)
    err = assert_equivariant(model, data, "51x0e", ntrials=3)
    assert err < 1e-9


@pytest.mark.parametrize("name", ["NaCl", "ZnO"])
@pytest.mark.parametrize("normalise_max", [True, False])
def test_prediction_does_not_depend_on_the_cell(float64, name, normalise_max):
    model = small_model(normalise_max=normalise_max)
    variants = cell_variants(crystals()[name])
    assert len(variants["supercell"]) == 4 * len(variants["input"])
    if name == "NaCl":  # fcc: the conventional cell holds four primitive cells
        assert len(variants["conventional"]) == 4 * len(variants["primitive"])
    variants["rotated supercell"] = transform_atoms(variants["supercell"], random_o3(dtype=torch.float64))
    preds = {k: model(crystal_to_data(a, R_MAX)).detach() for k, a in variants.items()}
    ref = preds["input"]
    assert float(ref.abs().max()) > 1e-3  # not a trivial zero output
    for k, p in preds.items():
        assert float((p - ref).abs().max()) < 1e-5, f"{k} cell gives a different DoS"


def test_sum_pooling_would_fail_the_cell_test(float64):
    """The cell test can fail: an extensive (sum-pooled) output changes with the supercell."""
    model = small_model(normalise_max=False)
    v = cell_variants(crystals()["NaCl"])
    per_atom = [model.atom_dos(crystal_to_data(v[k], R_MAX)).detach().sum(0) for k in ("input", "supercell")]
    assert float((per_atom[1] - 4 * per_atom[0]).abs().max()) < 1e-8
    assert float((per_atom[1] - per_atom[0]).abs().max()) > 1e-3


def test_output_is_non_negative_and_max_normalised():
    model = small_model()
    out = model(crystal_to_data(crystals()["ZnO"], R_MAX)).detach()
    assert out.shape == (1, 51) and bool((out >= 0).all())
    assert abs(float(out.max()) - 1.0) < 1e-5


def test_weighted_element_encoding_mixes_one_hots():
    x = node_features([{51: 1.0}, {83: 1.0}, {51: 0.75, 83: 0.25}])
    assert x.shape == (3, N_ELEMENTS + 1)
    assert torch.allclose(x[2], 0.75 * x[0] + 0.25 * x[1], atol=1e-6)
    assert float(x[0, 50]) == 1.0 and float(x[0, :N_ELEMENTS].sum()) == 1.0
    with pytest.raises(ValueError, match="must sum to 1"):
        node_features([{51: 0.5, 83: 0.4}])
    with pytest.raises(ValueError, match="not an element"):
        node_features([{0: 1.0}])


def test_element_stratified_split_keeps_every_element_in_training():
    rng = np.random.default_rng(1)
    sets = [set(rng.choice(np.arange(1, 40), size=rng.integers(1, 4), replace=False).tolist())
            for _ in range(300)]
    sets += [{90}, {91, 8}, {91, 9}]  # rare elements: one and two crystals
    train, valid, test = element_stratified_split(sets, (0.8, 0.1, 0.1), seed=0)
    allidx = np.concatenate([train, valid, test])
    assert sorted(allidx.tolist()) == list(range(len(sets)))
    train_elements = set().union(*(sets[i] for i in train))
    assert train_elements == set().union(*sets)
    assert abs(len(train) / len(sets) - 0.8) < 0.05 and len(test) > 0.05 * len(sets)
    with pytest.raises(ValueError, match="summing to 1"):
        element_stratified_split(sets, (0.8, 0.3, 0.1))


def test_metrics_definitions():
    rng = np.random.default_rng(0)
    y = rng.random((20, 51))
    assert abs(dos_metrics(y, np.full_like(y, y.mean()))["r2_global"]) < 1e-12
    per_bin = dos_metrics(y, np.broadcast_to(y.mean(0), y.shape))
    assert abs(per_bin["r2_per_bin"]) < 1e-12 and per_bin["r2_global"] > 0
    perfect = dos_metrics(y, y)
    assert perfect["mse"] == 0 and perfect["r2_global"] == 1 and perfect["r2_per_bin"] == 1


def test_heat_capacity_and_average_frequency_limits():
    freq = np.arange(0.0, 1001.0, 20.0)
    low = np.zeros(51)
    low[1] = 1.0  # all modes at 20 cm^-1: classical at 300 K
    high = np.zeros(51)
    high[-1] = 1.0  # all modes at 1000 cm^-1: x = 4.8, mostly frozen out
    cv = heat_capacity(freq, np.stack([low, high]), T=300.0)
    assert abs(cv[0] - 3.0) < 0.01
    assert abs(CM1_TO_K - 1.438777) < 1e-6  # the second radiation constant h c / k_B, cm K (CODATA)
    x = CM1_TO_K * 1000 / 300
    assert abs(cv[1] - 3 * x**2 * np.exp(x) / np.expm1(x) ** 2) < 1e-12
    assert abs(heat_capacity(freq, 7.0 * high)[0] - cv[1]) < 1e-12  # scale of g does not matter
    assert np.allclose(average_frequency(freq, np.stack([low, high])), [20.0, 1000.0])
    with pytest.raises(ValueError, match="bins"):
        heat_capacity(freq[:-1], low)


# ---------------------------------------------------------------- the data loader


def _row(mp_id: str, structure: str | None = None, n_bins: int = 51) -> list[str]:
    if structure is None:
        structure = repr({"numbers": [11, 17], "positions": [[0.0, 0.0, 0.0], [2.82, 0.0, 0.0]],
                          "cell": [[0.0, 2.82, 2.82], [2.82, 0.0, 2.82], [2.82, 2.82, 0.0]],
                          "pbc": [True, True, True]})
    freq = [20.0 * k for k in range(n_bins)]
    dos = [0.5] * n_bins
    return [mp_id, structure, repr(freq), repr(dos)]


def _write_csv(path, rows) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["mp_id", "structure", "phfreq", "phdos"])
    writer.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def test_loader_reads_a_good_file(tmp_path):
    path = tmp_path / "good.csv"
    _write_csv(path, [_row("mp-1"), _row("mp-2")])
    records = load_phonon_dos(path)
    assert [r.mp_id for r in records] == ["mp-1", "mp-2"]
    assert records[0].dos.shape == (51,) and len(records[0].atoms) == 2


@pytest.mark.parametrize(
    "bad_row, message",
    [
        (_row("mp-bad", structure="{'numbers': [11, 17], 'positions': [[0, 0, 0]], 'cell': "
                                  "[[1, 0, 0], [0, 1, 0], [0, 0, 1]]}"), "positions have shape"),
        (_row("mp-bad", structure="__import__('os').system('echo pwned')"), "not a valid literal"),
        (_row("mp-bad", n_bins=50)[:3] + [repr([0.5] * 49)], "equal-length"),
    ],
    ids=["wrong-shape", "code-not-literal", "dos-length"],
)
def test_malformed_row_is_named(tmp_path, bad_row, message):
    path = tmp_path / "bad.csv"
    _write_csv(path, [_row("mp-1"), _row("mp-2"), bad_row])
    with pytest.raises(MalformedRowError, match=rf"line 4 \(mp-bad\): .*{message}"):
        load_phonon_dos(path)


def test_truncated_file_fails_on_its_last_row(tmp_path):
    path = tmp_path / "truncated.csv"
    _write_csv(path, [_row("mp-1"), _row("mp-2")])
    text = path.read_text()
    path.write_text(text[: len(text) - 120])  # cut inside the last row's DoS list
    with pytest.raises(MalformedRowError, match=r"mp-2"):
        load_phonon_dos(path)


def test_corrupt_mirror_file_fails_its_checksum(tmp_path, monkeypatch):
    """fetch() via a mirror holding a bad copy: a checksum error, and nothing in the cache."""
    mirror, cache = tmp_path / "mirror", tmp_path / "cache"
    mirror.mkdir()
    _write_csv(mirror / "petretto_phonon_dos_1521.csv", [_row("mp-1"), _row("mp-2")])
    monkeypatch.setenv("TUTORIAL_DATA_MIRROR", str(mirror))
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(cache))
    with pytest.raises(ValueError, match="sha256.*truncated, corrupt or a different version"):
        load_phonon_dos()
    assert list(cache.iterdir()) == []


def test_potential_phonon_dos_of_copper_with_emt():
    """The potential + phonopy route (optional phonopy), with ASE's cheap EMT potential."""
    pytest.importorskip("phonopy")
    from ase.calculators.emt import EMT

    from tutorial_utils.phonons import potential_phonon_dos

    freq = np.arange(0.0, 1001.0, 20.0)
    dos = potential_phonon_dos(bulk("Cu", "fcc", a=3.6), EMT(), freq, supercell_length=7.0, mesh_length=10.0)
    assert dos.shape == (51,) and abs(dos.max() - 1) < 1e-12 and (dos >= 0).all()
    # copper's phonons end near 7 THz (about 240 cm^-1): nothing above 400 cm^-1
    assert dos[freq > 400].max() < 1e-3 and average_frequency(freq, dos)[0] < 250


def test_crystal_to_data_refuses_a_molecule():
    from ase.build import molecule

    with pytest.raises(ValueError, match="needs a crystal.*pbc=\\[False, False, False\\].*atoms_to_data"):
        crystal_to_data(molecule("H2O"), r_max=R_MAX)
    slab = bulk("NaCl", "rocksalt", a=5.64)
    slab.pbc = [True, True, False]
    with pytest.raises(ValueError, match="periodic along all three"):
        crystal_to_data(slab, r_max=R_MAX)


def test_relaxation_with_emt_reaches_the_potential_minimum_and_keeps_symmetry():
    """relax_with_potential: a strained copper cell relaxes back to EMT's lattice constant, and the
    phonons at the minimum have no imaginary modes."""
    from ase.calculators.emt import EMT

    from tutorial_utils.phonons import relax_with_potential

    strained = bulk("Cu", "fcc", a=3.75)
    relaxed, info = relax_with_potential(strained, EMT(), fmax=1e-4)
    assert info["converged"] == 1.0 and info["volume_change"] < -0.05  # EMT's Cu is near a = 3.59 Å
    lengths = relaxed.cell.lengths()
    assert np.allclose(lengths, lengths[0], atol=1e-6)  # still fcc: all three primitive vectors equal
    relaxed.calc = EMT()
    assert np.abs(relaxed.get_forces()).max() < 1e-3 and np.abs(relaxed.get_stress()).max() < 1e-4


def test_broadened_dos_puts_one_gaussian_where_the_mode_is():
    from tutorial_utils.phonons import broadened_dos

    freq = np.arange(0.0, 1001.0, 20.0)
    dos = broadened_dos(np.array([[300.0, 300.0, 600.0]]), np.array([1.0]), freq, sigma=10.0)
    assert dos[15] == pytest.approx(1.0) and dos[30] == pytest.approx(0.5, rel=1e-6)  # two modes at 300, one at 600
    assert dos[16] == pytest.approx(np.exp(-2.0), rel=1e-6)  # 20 cm^-1 = 2 sigma away
    with pytest.raises(ValueError, match="positive width"):
        broadened_dos(np.zeros((1, 3)), np.ones(1), freq, sigma=0.0)


def test_vegard_alloy_interpolates_cell_positions_and_composition():
    from tutorial_utils.phonons import substitute, vegard_alloy

    nacl = bulk("NaCl", "rocksalt", a=5.64)
    kcl = substitute(nacl, {11: 19}, cell=np.asarray(bulk("KCl", "rocksalt", a=6.29).get_cell()))
    assert kcl.get_chemical_formula() == "ClK"
    assert np.allclose(kcl.get_scaled_positions(), nacl.get_scaled_positions())
    alloy, species = vegard_alloy(nacl, kcl, 0.25)
    assert alloy.cell.cellpar()[0] == pytest.approx(0.75 * nacl.cell.cellpar()[0] + 0.25 * kcl.cell.cellpar()[0])
    assert species == [{11: 0.75, 19: 0.25}, {17: 1.0}]
    end, end_species = vegard_alloy(nacl, kcl, 1.0)
    x_end = crystal_to_data(end, R_MAX, site_species=end_species).x
    assert torch.allclose(x_end, crystal_to_data(kcl, R_MAX).x)  # x = 1 is the end member itself
    with pytest.raises(ValueError, match="no atom with atomic number"):
        substitute(nacl, {83: 51})
    with pytest.raises(ValueError, match="match site by site"):
        vegard_alloy(nacl, nacl.repeat(2), 0.5)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        vegard_alloy(nacl, kcl, 1.5)


def test_random_split_and_protocol_names():
    from tutorial_utils.phonons import random_split, split_protocol

    train, valid, test = random_split(100, (0.8, 0.1, 0.1), seed=3)
    assert (len(train), len(valid), len(test)) == (80, 10, 10)
    assert np.array_equal(np.sort(np.concatenate([train, valid, test])), np.arange(100))
    assert not np.array_equal(random_split(100, seed=4)[2], test)  # the seed draws the split
    with pytest.raises(ValueError, match="unknown split protocol"):
        split_protocol("scaffold", [{1}] * 10)


def test_chen2021_split_reads_the_published_indices(tmp_path, monkeypatch):
    """The 2021 tutorial's split through the registry (files from a mirror folder), and a clear
    error for a file that is not one integer per line."""
    from tutorial_utils.phonons import chen2021_split, split

    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (shared / "phonon_dos" / "chen2021_idx_test.txt").is_file():
        pytest.skip("the shared reference data is not beside the checkout")
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TUTORIAL_DATA_MIRROR", str(shared))
    train, valid, test = chen2021_split(1521)
    assert (len(train), len(valid), len(test)) == (1191, 141, 189)  # Mg3Bi2 (row 1521) dropped from training
    assert 474 in train  # Mg3Sb2 is a training crystal there
    bad = tmp_path / "bad.txt"
    bad.write_text("1\nfoo\n")
    with pytest.raises(ValueError, match="one integer per line"):
        split._read_indices(str(bad), "test")


def test_pretrained_reproduces_its_recorded_test_error(monkeypatch, tmp_path):
    """``pretrained()`` (state_dict, weights_only) gives the test MSE that data/phonon_dos/train_dos.py
    recorded on the notebook's split, and is invariant under O(3)."""
    import json

    from tutorial_utils.phonons import MODEL_HPARAMS, predict_dos, pretrained, split_protocol

    shared = Path(__file__).resolve().parents[2] / "shared" / "data"
    if not (shared / "phonon_dos").is_dir():
        pytest.skip("the shared reference data is not beside the checkout")
    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TUTORIAL_DATA_MIRROR", str(shared))
    recorded = json.loads((Path(__file__).resolve().parents[1] / "data" / "phonon_dos"
                           / "phonon_dos_model.json").read_text())
    model = pretrained()
    assert not model.training
    records = load_phonon_dos()
    _, _, test_idx = split_protocol("stratified", [set(r.atoms.numbers.tolist()) for r in records],
                                    recorded["split_seed"])
    assert len(test_idx) == recorded["n_test"]
    y = np.stack([records[i].dos for i in test_idx])
    pred = predict_dos(model, [crystal_to_data(records[i].atoms, MODEL_HPARAMS["r_max"]) for i in test_idx])
    mse = float(((pred - y) ** 2).mean())
    assert mse == pytest.approx(recorded["test_metrics"]["mse"], abs=2e-5)
    data = crystal_to_data(records[int(test_idx[0])].atoms, MODEL_HPARAMS["r_max"])
    assert assert_equivariant(model, data, "51x0e", ntrials=2) < 1e-4  # float32 weights
