"""The density model (tutorial_utils.density_model): equivariance over random O(3) elements,
the per-element output layout, normalisation, bad input, and that training reduces the error.

The basis is the def2-universal-jfit basis stored with the water data; the clusters are the
stored training clusters (data/water/water_train.npz, part of the repository)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from e3nn import o3

from tutorial_utils.density import (
    basis_on_points,
    integration_grid,
    load_clusters,
    load_free_atoms,
    promolecule_coefficients,
)
from tutorial_utils.density_model import (
    DensityModel,
    average_num_neighbors,
    clusters_to_data,
    coefficient_loss,
    predict_coefficients,
    train_density_model,
)
from tutorial_utils.symmetry import assert_equivariant, default_dtype

DATA = Path(__file__).resolve().parents[1] / "data" / "water" / "water_train.npz"
SMALL = dict(r_max=3.0, num_layers=2, irreps_hidden="8x0e+4x1o+4x2e+2x3o+2x4e", l_max_sh=2, num_basis=4,
             radial_hidden=8)


@pytest.fixture(scope="module")
def water():
    clusters, basis = load_clusters(DATA)
    clusters = sorted(clusters, key=lambda c: c.n_molecules)[:4]  # the smallest: fast tests
    return clusters, basis


def test_output_layout_and_equivariance_over_o3(water):
    clusters, basis = water
    c = clusters[0]
    with default_dtype(torch.float64):
        torch.manual_seed(0)
        data = clusters_to_data([c], SMALL["r_max"], torch.float64)
        model = DensityModel(basis, avg_num_neighbors=average_num_neighbors(data), conserve_charge=False,
                             **SMALL).double()
        out = model(data[0])
        assert out.shape == c.coefficients.shape
        # the O atom's block is its head applied to its features, at its offset
        h = model.hidden_features(data[0])
        o_block = model.heads["8"](h[:1]) * model.scale_8 + model.shift_8
        torch.testing.assert_close(out[:basis.elements[8].dim], o_block[0])
        irreps = sum((basis.irreps(int(z)) for z in c.numbers), o3.Irreps(""))
        err = assert_equivariant(model, data[0], irreps)
    assert err < 1e-9


def test_unknown_element_and_bad_hidden_irreps(water):
    clusters, basis = water
    data = clusters_to_data(clusters[:1], SMALL["r_max"])[0]
    model = DensityModel(basis, avg_num_neighbors=5.0, **SMALL)
    bad = data.clone()
    bad.z = bad.z.clone()
    bad.z[1] = 6
    with pytest.raises(ValueError, match=r"C \(Z=6\).*covers only H, O"):
        model(bad)
    with pytest.raises(ValueError, match="lacks.*4e"):
        DensityModel(basis, irreps_hidden="8x0e+4x1o+4x2e+2x3o")
    with pytest.raises(ValueError, match="rebuild it"):
        model(clusters_to_data(clusters[:1], 2.0)[0])


def test_normalisation_shift_is_the_mean_scalar_coefficient(water):
    clusters, basis = water
    data = clusters_to_data(clusters, SMALL["r_max"])
    model = DensityModel(basis, avg_num_neighbors=5.0, conserve_charge=False, **SMALL)
    model.fit_normalisation(data)
    o_blocks = torch.stack([b for d in data for z, b in zip(d.z.tolist(), basis.split(d.coefficients, d.z.numpy()))
                            if z == 8]).double()
    shift = model.shift_8.double()
    np.testing.assert_allclose(shift[:6].numpy(), o_blocks[:, :6].mean(0).numpy(), rtol=1e-5)
    assert float(shift[6:].abs().max()) == 0.0  # l > 0: zero mean by symmetry, not fitted
    scale = model.scale_8
    assert float((scale[6:9] - scale[6]).abs().max()) == 0.0  # one scale per 1o irrep
    # with a zero head the prediction is the promolecule: the shift on every atom
    for head in model.heads.values():
        torch.nn.init.zeros_(head.weight)
    out = predict_coefficients(model, data[:1])[0]
    torch.testing.assert_close(out, model.promolecule(data[0].z))
    assert len(model.promolecule([8, 1, 1])) == 49 + 11 + 11


def test_training_reduces_the_coefficient_error(water):
    clusters, basis = water
    data = clusters_to_data(clusters, SMALL["r_max"])
    torch.manual_seed(0)
    model = DensityModel(basis, avg_num_neighbors=average_num_neighbors(data), **SMALL)
    model.fit_normalisation(data[:3])
    with torch.no_grad():
        before = float(coefficient_loss(model, data[3])[0])
    history = train_density_model(model, data[:3], data[3:], epochs=15, lr=5e-3, batch_size=1)
    with torch.no_grad():
        after = float(coefficient_loss(model, data[3])[0])
    assert history.epochs == 15
    assert after < 0.8 * before, (before, after)
    with pytest.raises(ValueError, match="need training and validation"):
        train_density_model(model, data[:3], [], epochs=1)


def test_charge_is_conserved_exactly_batched_or_not_and_the_model_stays_equivariant(water):
    from torch_geometric.loader import DataLoader

    clusters, basis = water
    with default_dtype(torch.float64):
        torch.manual_seed(0)
        data = clusters_to_data(clusters, SMALL["r_max"], torch.float64)
        model = DensityModel(basis, avg_num_neighbors=5.0, **SMALL).double()
        free = DensityModel(basis, avg_num_neighbors=5.0, conserve_charge=False, **SMALL).double()
        free.load_state_dict(model.state_dict())
        for d in data:
            n_target = float(d.z.sum())
            assert abs(float(model.electron_count(model(d), d)[0].detach()) - n_target) < 1e-9
            assert abs(float(free.electron_count(free(d), d)[0].detach()) - n_target) > 1e-3  # the test can fail
        batch = next(iter(DataLoader(data, batch_size=len(data))))
        counts = model.electron_count(model(batch), batch)
        torch.testing.assert_close(counts, torch.tensor([float(d.z.sum()) for d in data], dtype=torch.float64))
        # the correction only moves 0e coefficients
        delta = (model(data[0]) - free(data[0])).detach()
        is_scalar = torch.cat([torch.tensor([ir.l == 0 for mul, ir in basis.irreps(int(z))
                                             for _ in range(mul * ir.dim)])
                               for z in data[0].z])
        assert float(delta[~is_scalar].abs().max()) == 0.0 and float(delta[is_scalar].abs().max()) > 0
        irreps = sum((basis.irreps(int(z)) for z in clusters[0].numbers), o3.Irreps(""))
        assert assert_equivariant(model, data[0], irreps) < 1e-9


def test_electron_counts_and_one_centre_overlap_match_quadrature(water):
    _, basis = water
    for z in (8, 1):
        pos = torch.zeros(1, 3, dtype=torch.float64)
        pts, w = integration_grid(pos, [z], n_radial=80, n_theta=12)
        phi = basis_on_points(pos, [z], basis, pts)                      # (M, dim), Bohr^-3/2
        bohr3 = 0.52917721092**3                                         # weights in Å^3, phi in Bohr
        q_numeric = (w[:, None] * phi).sum(0) / bohr3
        S_numeric = (phi * w[:, None]).T @ phi / bohr3
        np.testing.assert_allclose(basis.electron_counts(z), q_numeric.numpy(), atol=1e-6)
        S = basis.one_centre_overlap(z)
        np.testing.assert_allclose(np.diag(S), 1.0, atol=1e-12)
        np.testing.assert_allclose(S, S_numeric.numpy(), atol=1e-5)
        assert np.linalg.eigvalsh(S).min() > 0 and np.abs(S - np.diag(np.diag(S))).max() > 0.5
    with pytest.raises(ValueError, match="C \\(Z=6\\)"):
        basis.electron_counts(6)


def test_overlap_loss_and_free_atom_reference(water):
    clusters, basis = water
    data = clusters_to_data(clusters[:1], SMALL["r_max"])
    model = DensityModel(basis, avg_num_neighbors=5.0, **SMALL)
    delta = torch.randn(len(data[0].coefficients))
    blocks = basis.split(delta, data[0].z.numpy())
    expected = sum(float(b @ torch.from_numpy(basis.one_centre_overlap(int(z))).float() @ b)
                   for z, b in zip(data[0].z.tolist(), blocks))
    assert float(model.overlap_norm2(delta, data[0])) == pytest.approx(expected, rel=1e-5)
    loss, _ = coefficient_loss(model, data[0], metric="overlap")
    assert float(loss) > 0
    with pytest.raises(ValueError, match="metric must be"):
        coefficient_loss(model, data[0], metric="coulomb")
    atoms_file = DATA.parent / "water_atoms.npz"
    atoms = load_free_atoms(atoms_file, basis)
    for z, n in [(8, 8.0), (1, 1.0)]:
        assert float(torch.from_numpy(basis.electron_counts(z)) @ atoms[z]) == pytest.approx(n, abs=0.01)
    model.fit_normalisation(clusters_to_data(clusters, SMALL["r_max"]), reference=atoms)
    assert str(basis.irreps(8)).startswith("6x0e")  # the first 6 coefficients of O are its 0e ones
    torch.testing.assert_close(model.shift_8[:6].double(), atoms[8][:6])
    assert float(model.shift_8[6:].abs().max()) == 0.0
    promolecule = promolecule_coefficients(clusters[0].numbers, atoms, basis)
    assert promolecule.shape == clusters[0].coefficients.shape
    n_promolecule = sum(float(torch.from_numpy(basis.electron_counts(int(z))) @ b)
                        for z, b in zip(clusters[0].numbers, basis.split(promolecule, clusters[0].numbers)))
    assert n_promolecule == pytest.approx(float(clusters[0].numbers.sum()), abs=0.01 * len(clusters[0].numbers))
    with pytest.raises(ValueError, match="reference needs coefficients"):
        model.fit_normalisation(clusters_to_data(clusters, SMALL["r_max"]), reference={8: atoms[8]})


def test_pretrained_gives_the_recorded_held_out_errors():
    """``pretrained()`` returns the shipped model (state_dict, weights_only) with the held-out
    errors data/water/train_density.py recorded when it made the weights, and conserves charge."""
    import json

    from tutorial_utils.density import density_errors
    from tutorial_utils.density_model import DENSITY_TRAIN, pretrained

    recorded = json.loads((DATA.parent / "water_density_model.json").read_text())
    assert recorded["training"]["metric"] == DENSITY_TRAIN["metric"]
    model = pretrained()
    assert not model.training and model.conserve_charge == DENSITY_TRAIN["conserve_charge"]
    test, basis = load_clusters(DATA.parent / "water_test.npz")
    threes = [c for c in test if c.n_molecules == 3]
    data = clusters_to_data(threes, model.r_max)
    eps = []
    for c, d, p in zip(threes, data, predict_coefficients(model, data)):
        assert abs(float(model.electron_count(p, d)[0]) - float(d.z.sum())) < 1e-4
        eps.append(100 * float(density_errors(c, {"model": p}, basis)["eps_model"]))
    expected = recorded["errors"]["test"]["3"]["eps_model_pct"]
    assert abs(np.mean(eps) - expected) < 1e-3 * max(1.0, expected), (np.mean(eps), expected)
