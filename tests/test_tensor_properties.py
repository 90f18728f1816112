"""Tensor properties of crystals (tutorial_utils.tensor_properties, notebook 07).

Equivariance: the predicted tensor rotates with the crystal (D(Q) of its irreps, for random O(3)
elements). Neumann's principle: for random weights, a cubic crystal gets an isotropic
dielectric tensor and a tetragonal or hexagonal one has no forbidden component, because the
network is equivariant and the crystal is invariant under its point group. The plain
9-number baseline fails both. Parsing and bad input (an element the model lacks, a tensor
that is not 3x3) give clear errors."""

import gzip
import json
import math

import numpy as np
import pytest
import torch
from ase.build import bulk
from e3nn import o3
from pymatgen.core import Lattice, Structure
from pymatgen.io.ase import AseAtomsAdaptor

from tutorial_utils.graphs import structure_to_data
from tutorial_utils.symmetry import assert_equivariant, random_o3
from tutorial_utils.tensor_properties import (
    DIELECTRIC,
    DIELECTRIC_SPECIES,
    ELASTIC,
    MODEL_HPARAMS,
    CartesianNet,
    MalformedRowError,
    TensorNet,
    anisotropic_part,
    build_model,
    cartesian_to_voigt,
    dielectric_from_log,
    dielectric_graphs,
    dielectric_loss,
    dielectric_metrics,
    forbidden_components,
    load_dielectric,
    load_elastic,
    log_susceptibility,
    mean_and_stderr,
    neumann_residual,
    parse_tensor,
    predict_dielectric,
    rotate_tensor,
    standardize,
    train_model,
    voigt_moduli,
    voigt_to_cartesian,
)
from tutorial_utils.tensor_properties.data import TensorRecord

R_MAX = 4.0
SMALL = dict(r_max=R_MAX, l_max=2, mul=8, mul_vec=4, num_layers=2, num_basis=6, radial_hidden=8)


def structures() -> dict[str, Structure]:
    """A cubic rocksalt, a tetragonal rutile, a hexagonal wurtzite and a triclinic distortion,
    each rotated away from its standard frame (so the checks do not rely on the orientation)."""
    to_pmg = AseAtomsAdaptor.get_structure
    rutile = Structure(Lattice.tetragonal(4.59, 2.96), ["Ti", "Ti", "O", "O", "O", "O"],
                       [[0, 0, 0], [0.5, 0.5, 0.5], [0.305, 0.305, 0], [0.695, 0.695, 0],
                        [0.805, 0.195, 0.5], [0.195, 0.805, 0.5]])
    low = bulk("GaAs", "zincblende", a=5.65)
    low.set_cell(low.cell[:] @ np.array([[1.0, 0.03, 0.0], [0.0, 1.0, 0.05], [0.02, 0.0, 1.0]]), scale_atoms=True)
    low.positions[0] += [0.05, -0.03, 0.02]
    out = {"NaCl": to_pmg(bulk("NaCl", "rocksalt", a=5.64)), "TiO2": rutile,
           "ZnO": to_pmg(bulk("ZnO", "wurtzite", a=3.25, c=5.21)), "GaAs-distorted": to_pmg(low)}
    Q = torch.tensor([[0.36, 0.48, -0.8], [-0.8, 0.6, 0.0], [0.48, 0.64, 0.6]], dtype=torch.float64)
    for s in out.values():
        s.lattice = Lattice(s.lattice.matrix @ Q.numpy().T)  # fractional coordinates kept: a rigid rotation
    return out


SPECIES = (8, 11, 17, 22, 30, 31, 33)


def model(kind: str = "equivariant", **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    if kind == "cartesian":
        return CartesianNet(SPECIES, **SMALL, avg_num_neighbors=10.0).eval()
    irreps = str(ELASTIC.irreps) if kind == "elastic" else str(DIELECTRIC.irreps)
    net = TensorNet(SPECIES, irreps_out=irreps, **SMALL, avg_num_neighbors=10.0, isotropic=kind == "isotropic")
    with torch.no_grad():
        net.offset.normal_()  # a non-zero offset must not break the symmetry either (0e only is allowed)
        net.offset.mul_(torch.cat([torch.full((m * ir.dim,), ir.l == 0) for m, ir in net.irreps_target]))
    return net.eval()


@pytest.mark.parametrize("kind,name", [("equivariant", "TiO2"), ("equivariant", "ZnO"),
                                       ("equivariant", "GaAs-distorted"), ("isotropic", "GaAs-distorted"),
                                       ("elastic", "GaAs-distorted")])
def test_tensor_net_is_equivariant_with_its_output_irreps(float64, kind, name):
    net = model(kind)
    data = structure_to_data(structures()[name], R_MAX)
    irreps = ELASTIC.irreps if kind == "elastic" else DIELECTRIC.irreps
    err = assert_equivariant(net, data, irreps, ntrials=2)
    assert err < 1e-9
    out = net(data)
    assert out.shape == (1, irreps.dim)
    if kind == "isotropic":
        assert float(out[0, 1:].detach().abs().max()) == 0.0  # only the 0e part


def _standard_prediction(net, structure):
    std = standardize(structure)
    eps = predict_dielectric(net, [structure_to_data(std.structure, R_MAX)])[0]
    return std, eps


@pytest.mark.parametrize("name", ["NaCl", "TiO2", "ZnO"])
def test_neumann_principle_for_random_weights(float64, name):
    """Cubic: isotropic; tetragonal and hexagonal: no forbidden component in the standard
    frame; and the prediction obeys the crystal's point group (residual at round-off)."""
    std, eps = _standard_prediction(model(), structures()[name])
    assert std.crystal_system == {"NaCl": "cubic", "TiO2": "tetragonal", "ZnO": "hexagonal"}[name]
    forbidden = forbidden_components(eps, std.crystal_system)
    assert max(abs(float(v)) for v in forbidden.values()) < 1e-10
    assert neumann_residual(eps, std.operations) < 1e-10
    assert np.linalg.norm(anisotropic_part(eps)) > 1e-4 or name == "NaCl"  # not trivially isotropic
    if name == "NaCl":
        assert np.abs(anisotropic_part(eps)).max() < 1e-10


def test_elastic_prediction_of_a_cubic_crystal_has_three_constants(float64):
    net = model("elastic")
    std = standardize(structures()["NaCl"])
    x = net(structure_to_data(std.structure, R_MAX)).detach()
    C = ELASTIC.to_cartesian(x[0])
    assert neumann_residual(C.numpy(), std.operations) < 1e-10
    c = cartesian_to_voigt(C.numpy())
    assert abs(c[0, 0] - c[2, 2]) < 1e-10 and abs(c[0, 1] - c[1, 2]) < 1e-10 and abs(c[3, 3] - c[5, 5]) < 1e-10
    assert abs(c[0, 3]) < 1e-10 and abs(c[0, 0] - c[0, 1]) > 1e-6  # C11 != C12: not trivially zero


def test_plain_cartesian_model_breaks_both_symmetries(float64):
    net = model("cartesian")
    std, eps = _standard_prediction(net, structures()["NaCl"])
    assert np.abs(anisotropic_part(eps)).max() > 1e-6  # a cubic crystal gets an anisotropic tensor
    data = structure_to_data(std.structure, R_MAX)
    Q = random_o3(dtype=torch.float64)
    moved = data.clone()
    moved.pos, moved.cell = data.pos @ Q.T, data.cell @ Q.T
    with torch.no_grad():
        L, L_rot = net(data)[0], net(moved)[0]
    assert float((L_rot - Q @ L @ Q.T).abs().max()) > 1e-4  # the output does not rotate with the crystal


def test_a_species_the_model_lacks_is_named(float64):
    net = model()
    cu = AseAtomsAdaptor.get_structure(bulk("Cu", "fcc", a=3.6))
    with pytest.raises(ValueError, match=r"built for species \[8, 11, .*\] but the structure has \[29\]"):
        net(structure_to_data(cu, R_MAX))


def test_supercell_gives_the_same_tensor(float64):
    net = model()
    s = structures()["TiO2"]
    big = s.copy()
    big.make_supercell([2, 1, 1])
    a, b = predict_dielectric(net, [structure_to_data(x, R_MAX) for x in (s, big)])
    assert np.abs(a - b).max() < 1e-10


# --------------------------------------------------------------------------- targets and metrics
def test_log_susceptibility_round_trip_rotation_and_bad_tensors(float64):
    Q = random_o3(dtype=torch.float64)
    eps = torch.tensor([[4.0, 0.3, 0.0], [0.3, 3.0, 0.1], [0.0, 0.1, 12.0]], dtype=torch.float64)
    L = log_susceptibility(eps)
    assert torch.allclose(dielectric_from_log(L), eps, atol=1e-12)
    assert torch.allclose(log_susceptibility(Q @ eps @ Q.T), Q @ L @ Q.T, atol=1e-12)  # log commutes with O(3)
    with pytest.raises(ValueError, match="eigenvalue 0.5 <= 1"):
        log_susceptibility(torch.diag(torch.tensor([0.5, 2.0, 2.0], dtype=torch.float64)))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 3, 3\)"):
        log_susceptibility(torch.ones(2, 3))


def test_metrics_on_known_predictions():
    uni = np.diag([2.0, 2.0, 5.0])
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    R = np.array([[1, 0, 0], [0, c, -s], [0, s, c]])
    true = np.stack([uni, uni, 3 * np.eye(3)])
    pred = np.stack([uni, R @ uni @ R.T, 3 * np.eye(3)])
    m = dielectric_metrics(true, pred, ["tetragonal", "tetragonal", "cubic"])
    assert m["mean_eig_mae"] < 1e-12 and m["n_axis"] == 2
    assert abs(m["axis_deg_mean"] - 15.0) < 1e-9 and abs(m["axis_deg_median"] - 15.0) < 1e-9
    iso = np.stack([np.eye(3) * np.trace(t) / 3 for t in true])
    m_iso = dielectric_metrics(true, iso, ["tetragonal", "tetragonal", "cubic"])
    assert math.isnan(m_iso["axis_deg_mean"]) and abs(m_iso["aniso_mae"] - m_iso["aniso_zero_mae"]) < 1e-12
    assert abs(m_iso["ratio_mae"] - (2 * 1.5) / 3) < 1e-12  # the uniaxial ratio 2.5 predicted as 1
    with pytest.raises(ValueError, match=r"shape \(M, 3, 3\)"):
        dielectric_metrics(true, pred[:, :2], ["cubic"] * 3)
    assert mean_and_stderr([1.0, 2.0, 3.0]) == pytest.approx((2.0, 1 / math.sqrt(3)))


def test_voigt_conversion_and_moduli_of_an_isotropic_solid():
    lam, mu = 60.0, 30.0  # GPa
    c = np.zeros((6, 6))
    c[:3, :3] = lam
    c[np.arange(3), np.arange(3)] = lam + 2 * mu
    c[np.arange(3, 6), np.arange(3, 6)] = mu
    C = voigt_to_cartesian(c)
    assert np.allclose(cartesian_to_voigt(C), c)
    assert np.allclose(C, np.transpose(C, (1, 0, 2, 3))) and np.allclose(C, np.transpose(C, (2, 3, 0, 1)))
    K, G = voigt_moduli(C)
    assert abs(K - (lam + 2 * mu / 3)) < 1e-9 and abs(G - mu) < 1e-9
    Q = random_o3(dtype=torch.float64).numpy()
    assert np.allclose(rotate_tensor(C, Q), C)  # isotropic: unchanged by any rotation
    x = ELASTIC.to_irreps(torch.as_tensor(C))
    assert ELASTIC.irreps == o3.Irreps("2x0e+2x2e+1x4e") and float(x[2:].abs().max()) < 1e-9  # only the two 0e


def test_standardize_finds_the_frame_and_exact_point_group():
    s = structures()["TiO2"]
    s.perturb(1e-4, min_distance=1e-5)  # noise below symprec, as in database structures
    std = standardize(s)
    assert std.crystal_system == "tetragonal" and std.point_group == "4/mmm" and len(std.operations) == 16
    ops = std.operations
    assert np.abs(np.einsum("gij,gkj->gik", ops, ops) - np.eye(3)).max() < 1e-12
    assert np.allclose(std.rotation @ std.rotation.T, np.eye(3), atol=1e-6)
    # a uniaxial tensor with its axis along the crystal's c axis (in the rotated input frame) lands on z
    c_axis = s.lattice.matrix[2] / np.linalg.norm(s.lattice.matrix[2])
    T = 2 * np.eye(3) + 3 * np.outer(c_axis, c_axis)
    T_std = rotate_tensor(T, std.rotation)
    assert np.allclose(T_std, np.diag([2.0, 2.0, 5.0]), atol=1e-4)
    assert neumann_residual(T_std, ops) < 1e-4


# --------------------------------------------------------------------------- parsing and loading
def test_parse_tensor_accepts_text_lists_and_numpy_dicts_and_refuses_the_rest():
    expected = np.diag([1.0, 2.0, 3.0])
    for value in ["[[1, 0, 0], [0, 2, 0], [0, 0, 3.0]]", "[[1, 0, 0], [0, 2, 0], [0, 0, 3e0]]",
                  expected.tolist(), {"@module": "numpy", "@class": "array", "data": expected.tolist()}]:
        assert np.array_equal(parse_tensor(value, (3, 3)), expected)
    assert np.array_equal(parse_tensor("((1, 0, 0), (0, 2, 0), (0, 0, 3))", (3, 3)), expected)  # a Python literal
    with pytest.raises(ValueError, match=r"e_electronic has shape \(2, 3\), expected 3x3"):
        parse_tensor("[[1, 0, 0], [0, 2, 0]]", (3, 3), what="e_electronic")
    with pytest.raises(ValueError, match="not a JSON or Python literal"):
        parse_tensor("[[1, 0, 0], __import__('os').getcwd()]", (3, 3))
    with pytest.raises(ValueError, match="non-finite"):
        parse_tensor("[[1, 0, 0], [0, NaN, 0], [0, 0, 1]]", (3, 3))
    with pytest.raises(ValueError, match="not an array of numbers"):
        parse_tensor([["a", 0, 0], [0, 1, 0], [0, 0, 1]], (3, 3))


def _split_json(tmp_path, rows, columns=("material_id", "structure", "band_gap", "e_electronic")):
    path = tmp_path / "diel.json.gz"
    with gzip.open(path, "wt") as fh:
        json.dump({"index": list(range(len(rows))), "columns": list(columns), "data": rows}, fh)
    return path


def test_loader_reads_rows_and_names_a_bad_one(tmp_path):
    nacl, rutile = structures()["NaCl"], structures()["TiO2"]
    frame = rutile.lattice.matrix.T / [4.59, 4.59, 2.96]  # columns: the rotated a, b, c axes
    eps_rutile = rotate_tensor(np.diag([7.0, 7.0, 8.5]), frame)  # diagonal along a, b, c
    good = [["mp-22862", nacl.as_dict(), 5.0, "[[2.4, 0.0, 0.0], [0.0, 2.4, 0.0], [0.0, 0.0, 2.4]]"],
            ["mp-2657", rutile.as_dict(), 1.8, json.dumps(eps_rutile.tolist())]]
    records = load_dielectric(_split_json(tmp_path, good))
    assert [r.material_id for r in records] == ["mp-22862", "mp-2657"]
    assert records[0].crystal_system == "cubic" and records[1].crystal_system == "tetragonal"
    assert np.allclose(records[1].tensor, np.diag([7.0, 7.0, 8.5]), atol=1e-6)  # rotated into the standard frame
    assert records[1].neumann_residual < 1e-6 and records[0].band_gap == 5.0
    bad = good + [["mp-999", nacl.as_dict(), 1.0, "[[1.0, 2.0], [3.0, 4.0]]"]]
    with pytest.raises(MalformedRowError, match=r"row 2 \(mp-999\): the e_electronic has shape \(2, 2\), expected 3x3"):
        load_dielectric(_split_json(tmp_path, bad))
    broken = good + [["mp-998", {"lattice": "no", "sites": []}, 1.0, good[0][3]]]
    with pytest.raises(MalformedRowError, match=r"mp-998.*could not be read by pymatgen"):
        load_dielectric(_split_json(tmp_path, broken))
    with pytest.raises(MalformedRowError, match=r"missing column\(s\) \['e_electronic'\]"):
        load_dielectric(_split_json(tmp_path, [r[:3] for r in good], columns=("material_id", "structure", "band_gap")))


def test_elastic_loader_converts_voigt_and_skips_large_cells(tmp_path):
    nacl = structures()["NaCl"]
    c = np.zeros((6, 6))
    c[:3, :3] = 12.0
    c[np.arange(3), np.arange(3)] = 49.0
    c[np.arange(3, 6), np.arange(3, 6)] = 12.7
    big = nacl.copy()
    big.make_supercell([3, 3, 3])
    rows = [["mp-22862", nacl.as_dict(), {"@module": "numpy", "@class": "array", "dtype": "float64",
                                          "data": c.tolist()}],
            ["mp-big", big.as_dict(), {"@module": "numpy", "@class": "array", "data": c.tolist()}]]
    path = _split_json(tmp_path, rows, columns=("material_id", "structure", "elastic_tensor"))
    records = load_elastic(path, max_sites=20)
    assert [r.material_id for r in records] == ["mp-22862"]
    K, G = voigt_moduli(records[0].tensor)
    assert abs(K - (3 * 49 + 6 * 12) / 9) < 1e-9 and records[0].tensor.shape == (3, 3, 3, 3)


# --------------------------------------------------------------------------- training and the shipped model
def _records() -> list[TensorRecord]:
    out = []
    for k, (name, s) in enumerate(structures().items()):
        std = standardize(s)
        eps = np.diag([3.0 + k, 3.0 + k, 4.0 + 2 * k]) if std.crystal_system != "cubic" else 2.5 * np.eye(3)
        if std.crystal_system == "triclinic":
            eps = eps + 0.2
        out.append(TensorRecord(name, name, std.structure, eps, std.crystal_system, std.point_group,
                                std.space_group, std.operations, neumann_residual(eps, std.operations)))
    return out


@pytest.mark.parametrize("kind", ["equivariant", "isotropic", "cartesian"])
def test_build_and_train_each_kind(kind):
    graphs = dielectric_graphs(_records(), R_MAX)
    net = build_model(kind, SPECIES, graphs, seed=0, **SMALL)
    history = train_model(net, dielectric_loss(1.0), graphs, graphs, epochs=3, seed=0, batch_size=2)
    assert history.epochs == 3 and history.valid_loss[history.best_epoch] <= history.valid_loss[0]
    eps = predict_dielectric(net, graphs)
    assert eps.shape == (4, 3, 3) and np.isfinite(eps).all()
    if kind != "cartesian":
        assert (np.linalg.eigvalsh(eps) > 1).all()  # eps = 1 + exp(L) is always physical
    with pytest.raises(ValueError, match="unknown model kind"):
        build_model("tensor", SPECIES, graphs)


def test_pretrained_model_loads_and_is_equivariant(float64, monkeypatch, tmp_path):
    from tutorial_utils.tensor_properties import pretrained

    monkeypatch.setenv("TUTORIAL_DATA_DIR", str(tmp_path))
    net = pretrained().double()
    assert isinstance(net, TensorNet) and net.species_onehot.species == list(DIELECTRIC_SPECIES)
    assert net.r_max == MODEL_HPARAMS["r_max"]
    s = structures()["TiO2"]
    data = structure_to_data(s, MODEL_HPARAMS["r_max"])
    assert assert_equivariant(net, data, DIELECTRIC.irreps, ntrials=2) < 1e-9
    eps = predict_dielectric(net, [data])[0]
    assert (np.linalg.eigvalsh(eps) > 1).all() and 2 < np.trace(eps) / 3 < 30  # a plausible eps_inf for TiO2
