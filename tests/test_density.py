"""Densities on Gaussian basis sets in e3nn's conventions (tutorial_utils.density).

The core tests need no pyscf: the conversion matrices, equivariance of the density under
O(3), analytic against numerical integrals, the storage round trip, bad input, and, when the
water data set is present, the stored pyscf densities at probe points. The tests marked by
``pytest.importorskip("pyscf")`` check the conversion against pyscf itself: every l up to 6,
and the fitted coefficients of a rotated molecule.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from e3nn import o3

from tutorial_utils.density import (
    BasisSet,
    ElementBasis,
    Shell,
    density_on_points,
    electrons_and_dipole,
    load_clusters,
    pyscf_to_e3nn_matrix,
    rotate_coefficients,
)
from tutorial_utils.symmetry import random_o3

DATA = Path(__file__).resolve().parents[1] / "data" / "water"


def primitive_norm(l: int, alpha: float) -> float:
    """1 / sqrt(int_0^inf r^(2l+2) exp(-2 alpha r^2) dr): unit norm with orthonormal Y_lm."""
    integral = math.gamma(l + 1.5) / (2 * (2 * alpha) ** (l + 1.5))
    return 1 / math.sqrt(integral)


def toy_basis() -> BasisSet:
    """A small two-element basis with every l up to 4 and shells deliberately not sorted by l
    in their 'pyscf' order (to exercise the reordering)."""
    def shell(l, alphas, weights):
        alphas = np.array(alphas, float)
        coefs = np.array([w * primitive_norm(l, a) for w, a in zip(weights, alphas, strict=True)])
        if len(alphas) == 1:
            return Shell(l, alphas, coefs)
        # normalise the contraction numerically (overlap of the primitives)
        s = sum(ci * cj * math.gamma(l + 1.5) / (2 * (ai + aj) ** (l + 1.5))
                for ci, ai in zip(coefs, alphas, strict=True) for cj, aj in zip(coefs, alphas, strict=True))
        return Shell(l, alphas, coefs / math.sqrt(s))

    oxygen = ElementBasis(8, (shell(0, [8.0, 2.0], [0.4, 0.7]), shell(0, [0.6], [1.0]), shell(1, [1.5], [1.0]),
                              shell(2, [1.1], [1.0]), shell(3, [0.9], [1.0]), shell(4, [1.3], [1.0])),
                          pyscf_order=(0, 2, 1, 3, 4, 5))
    hydrogen = ElementBasis(1, (shell(0, [1.2], [1.0]), shell(1, [0.8], [1.0]), shell(2, [1.7], [1.0])),
                            pyscf_order=(1, 0, 2))
    return BasisSet("toy", {8: oxygen, 1: hydrogen})


WATER_POS = torch.tensor([[0.0, 0.0, 0.0], [0.757, 0.586, 0.0], [-0.757, 0.586, 0.0]], dtype=torch.float64)
WATER_Z = np.array([8, 1, 1])


def cube(half_width: float, n: int) -> tuple[torch.Tensor, float]:
    """Grid points (n^3, 3) Å filling [-w, w]^3 and the volume (Å^3) of one cell."""
    x = torch.linspace(-half_width, half_width, n, dtype=torch.float64)
    g = torch.stack(torch.meshgrid(x, x, x, indexing="ij"), -1).reshape(-1, 3)
    return g, float((x[1] - x[0]) ** 3)


def test_conversion_matrices_are_orthogonal_mixings():
    for l in range(7):
        q = pyscf_to_e3nn_matrix(l)
        assert q.shape == (2 * l + 1, 2 * l + 1)
        np.testing.assert_allclose(q @ q.T, np.eye(2 * l + 1), atol=1e-12)
    np.testing.assert_array_equal(pyscf_to_e3nn_matrix(1), np.eye(3))
    # l >= 2 mixes functions within a shell: not a signed permutation
    q2 = pyscf_to_e3nn_matrix(2)
    assert np.sum(np.abs(q2) > 1e-9) > 5
    np.testing.assert_allclose(sorted(np.abs(q2[np.abs(q2) > 1e-9])), [0.5, 0.5, 0.866025, 0.866025, 1, 1, 1],
                               atol=1e-6)
    with pytest.raises(ValueError, match="l=-1"):
        pyscf_to_e3nn_matrix(-1)


def test_l2_conversion_matches_closed_form_pyscf_harmonics():
    """libcint's real d functions (z polar axis; order xy, yz, z^2, xz, x^2-y^2), written out
    here by hand, equal Q_2^T applied to e3nn's harmonics."""
    rng = np.random.default_rng(0)
    r = rng.normal(size=(40, 3))
    r /= np.linalg.norm(r, axis=1, keepdims=True)
    x, y, z = r.T
    a = math.sqrt(15 / (4 * math.pi))
    libcint = np.stack([a * x * y, a * y * z, math.sqrt(5 / (16 * math.pi)) * (3 * z**2 - 1),
                        a * x * z, a / 2 * (x**2 - y**2)], axis=1)
    e3nn = o3.spherical_harmonics(2, torch.tensor(r), normalize=True, normalization="integral").numpy()
    np.testing.assert_allclose(libcint, e3nn @ pyscf_to_e3nn_matrix(2), atol=1e-12)


def test_irreps_dims_and_round_trip():
    basis = toy_basis()
    assert str(basis.irreps(8)) == "2x0e+1x1o+1x2e+1x3o+1x4e"
    assert str(basis.irreps(1)) == "1x0e+1x1o+1x2e"
    assert basis.dims(WATER_Z).tolist() == [2 + 3 + 5 + 7 + 9, 9, 9]
    again = BasisSet.from_arrays(basis.to_arrays())
    assert again.name == "toy" and again.elements.keys() == basis.elements.keys()
    for z in basis.elements:
        assert again.elements[z].pyscf_order == basis.elements[z].pyscf_order
        for s, t in zip(basis.elements[z].shells, again.elements[z].shells, strict=True):
            assert s.l == t.l
            np.testing.assert_array_equal(s.exponents, t.exponents)
            np.testing.assert_array_equal(s.coefficients, t.coefficients)
    broken = basis.to_arrays()
    broken["basis_exponents"] = broken["basis_exponents"][:-1]
    with pytest.raises(ValueError, match="inconsistent"):
        BasisSet.from_arrays(broken)


def test_pyscf_to_e3nn_reorders_shells_and_rotates_each():
    basis = toy_basis()
    numbers = np.array([1])  # hydrogen, pyscf order: p (3), s (1), d (5)
    c_pyscf = np.arange(1.0, 10.0)
    c = basis.pyscf_to_e3nn(c_pyscf, numbers)
    np.testing.assert_allclose(c[0], 4.0)  # the s function comes first in e3nn's layout
    np.testing.assert_allclose(c[1:4], [1.0, 2.0, 3.0])
    np.testing.assert_allclose(c[4:], pyscf_to_e3nn_matrix(2) @ np.arange(5.0, 10.0))


def test_density_is_o3_equivariant(float64):
    """rho'(Q r) = rho(r) when positions go to Q x and coefficients to D(Q) c, for rotations
    and improper elements alike (odd l carry parity -1)."""
    basis = toy_basis()
    torch.manual_seed(0)
    numbers = np.array([8, 1, 1, 8, 1])
    pos = torch.randn(5, 3)
    c = torch.randn(int(basis.offsets(numbers)[-1]))
    points = torch.randn(300, 3) * 1.5
    rho = density_on_points(pos, numbers, c, basis, points)
    for _ in range(4):
        q = random_o3()
        rho_q = density_on_points(pos @ q.T, numbers, rotate_coefficients(c, numbers, basis, q), basis, points @ q.T)
        torch.testing.assert_close(rho_q, rho, atol=1e-9, rtol=1e-7)  # e3nn's D: ~1e-8
    # a wrong convention breaks it: rotating only the positions changes the density
    q = random_o3()
    wrong = density_on_points(pos @ q.T, numbers, c, basis, points @ q.T)
    assert (wrong - rho).abs().max() > 1e-3


def test_analytic_electrons_and_dipole_match_the_grid(float64):
    """Electron count and dipole from the s and p coefficients equal quadrature on a grid."""
    basis = toy_basis()
    gen = torch.Generator().manual_seed(1)
    c = torch.randn(int(basis.offsets(WATER_Z)[-1]), generator=gen)
    n_el, dipole = electrons_and_dipole(WATER_POS, WATER_Z, c, basis)
    points, dv = cube(7.0, 71)
    rho = density_on_points(WATER_POS, WATER_Z, c, basis, points, chunk=20000)
    n_grid = rho.sum() * dv
    nuclei = (torch.as_tensor(WATER_Z, dtype=torch.float64)[:, None] * WATER_POS).sum(0)
    dip_grid = nuclei - (points * rho[:, None]).sum(0) * dv
    assert abs(n_el.item()) > 0.1  # not a trivially zero comparison
    torch.testing.assert_close(n_el, n_grid, atol=2e-4, rtol=1e-4)
    torch.testing.assert_close(dipole, dip_grid, atol=2e-4, rtol=1e-4)


def test_unknown_element_gives_a_clear_error():
    basis = toy_basis()
    with pytest.raises(ValueError, match=r"no toy basis for element\(s\) C \(Z=6\).*covers only H, O"):
        basis.check_numbers([8, 6, 1])
    with pytest.raises(ValueError, match="C \\(Z=6\\)"):
        density_on_points(torch.zeros(2, 3, dtype=torch.float64), np.array([6, 1]),
                          torch.zeros(18, dtype=torch.float64), basis, torch.zeros(1, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="coefficients must have shape"):
        density_on_points(WATER_POS, WATER_Z, torch.zeros(5, dtype=torch.float64), basis, torch.zeros(1, 3))


def write_toy_file(path: Path, basis: BasisSet, n_clusters: int = 2) -> None:
    """A small file in the layout of data/water (random numbers, toy basis)."""
    rng = np.random.default_rng(0)
    numbers = [np.tile([8, 1, 1], n) for n in range(1, n_clusters + 1)]
    arrays = dict(
        positions=rng.normal(size=(sum(map(len, numbers)), 3)), numbers=np.concatenate(numbers),
        n_atoms=np.array([len(z) for z in numbers]), n_coefficients=np.array([basis.offsets(z)[-1] for z in numbers]),
        energy=rng.normal(size=n_clusters), dipole=rng.normal(size=(n_clusters, 3)),
        eps_rho=np.full(n_clusters, 0.013), n_molecules=np.arange(1, n_clusters + 1), **basis.to_arrays())
    arrays["coefficients"] = rng.normal(size=int(arrays["n_coefficients"].sum()))
    np.savez(path, **arrays)


def test_load_clusters_reads_and_rejects_bad_files(tmp_path):
    basis = toy_basis()
    good = tmp_path / "good.npz"
    write_toy_file(good, basis)
    clusters, loaded = load_clusters(good)
    assert [c.n_molecules for c in clusters] == [1, 2]
    assert clusters[1].positions.shape == (6, 3) and clusters[1].coefficients.shape == (2 * (26 + 9 + 9),)
    assert str(loaded.irreps(8)) == str(basis.irreps(8))
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[:300])
    with pytest.raises(ValueError, match="truncated"):
        load_clusters(truncated)
    with np.load(good) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["n_coefficients"] = arrays["n_coefficients"] + np.array([1, -1])
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match="cluster 0 has 45 coefficients"):
        load_clusters(tmp_path / "bad.npz")


def stored_parts() -> list[Path]:
    return sorted(DATA.glob("dft_*_s*.npz"))


@pytest.mark.skipif(not stored_parts(), reason="data/water has no labelled part (run data/water/generate.py)")
def test_stored_clusters_rebuild_pyscf_fitted_density():
    """For stored clusters, our evaluation of the e3nn-layout coefficients reproduces pyscf's
    fitted density at the stored probe points, and the analytic electron count matches the
    grid integral that pyscf's grid gave at generation time."""
    with np.load(stored_parts()[0], allow_pickle=False) as f:
        arr = {k: f[k] for k in f.files}
    clusters, basis = load_clusters(stored_parts()[0])
    assert len(clusters) == len(arr["energy"]) and all(c.numbers[0] == 8 for c in clusters)
    assert str(basis.irreps(8)) == "6x0e+4x1o+3x2e+1x3o+1x4e"
    assert str(basis.irreps(1)) == "3x0e+1x1o+1x2e"
    atom_off = np.concatenate([[0], np.cumsum(arr["n_atoms"])])
    coef_off = np.concatenate([[0], np.cumsum(arr["n_coefficients"])])
    for i in range(min(len(arr["n_atoms"]), 3)):
        pos = torch.tensor(arr["positions"][atom_off[i]:atom_off[i + 1]])
        numbers = arr["numbers"][atom_off[i]:atom_off[i + 1]]
        c = torch.tensor(arr["coefficients"][coef_off[i]:coef_off[i + 1]])
        rho = density_on_points(pos, numbers, c, basis, torch.tensor(arr["probe_points"][i])).numpy()
        np.testing.assert_allclose(rho, arr["probe_rho_fit"][i], rtol=1e-6, atol=1e-8)
        n_el, _ = electrons_and_dipole(pos, numbers, c, basis)
        assert abs(n_el.item() - arr["n_electrons_fit_grid"][i]) < 1e-3
        assert 0.002 < arr["eps_rho"][i] < 0.05


# --------------------------------------------------------------------------- against pyscf


def test_basis_values_match_pyscf_for_every_l():
    pytest.importorskip("pyscf")
    from pyscf import gto

    from tutorial_utils.density import BOHR, basis_on_points

    shells = [[l, [0.7 + 0.3 * l, 0.6], [2.1, 0.4]] for l in range(7)]
    mol = gto.M(atom="X 0.1 -0.2 0.3", basis={"X": shells}, unit="Angstrom")
    basis = BasisSet.from_pyscf(mol, "test")
    rng = np.random.default_rng(3)
    points = rng.normal(size=(60, 3)) + [0.1, -0.2, 0.3]
    centre = torch.tensor([[0.1, -0.2, 0.3]], dtype=torch.float64)
    ours = basis_on_points(centre, [0], basis, torch.tensor(points)).numpy()
    theirs = mol.eval_gto("GTOval_sph", points / BOHR)  # pyscf order: shells by l here
    col = 0
    for l in range(7):
        n = 2 * l + 1
        np.testing.assert_allclose(ours[:, col:col + n], theirs[:, col:col + n] @ pyscf_to_e3nn_matrix(l).T,
                                   atol=1e-10, rtol=1e-8)
        col += n


@pytest.fixture(scope="module")
def pyscf_dimer_fits():
    """Hartree-Fock (exactly rotation invariant: no grid) of a water dimer and of a rotated
    and reflected copy, each density fitted onto def2-universal-jfit."""
    pytest.importorskip("pyscf")
    from pyscf import df, gto, scf

    from tutorial_utils.density import fit_density_pyscf

    pos = np.array([[0.0, 0.0, 0.0], [0.96, 0.05, 0.0], [-0.25, 0.93, 0.1],
                    [2.9, 0.2, 0.1], [3.3, -0.5, 0.6], [3.3, 0.1, -0.8]])
    numbers = np.array([8, 1, 1, 8, 1, 1])
    q = random_o3(dtype=torch.float64).numpy()
    if np.linalg.det(q) > 0:  # make it improper: tests parity as well
        q = -q
    out = []
    for x in (pos, pos @ q.T):
        atoms = [("O" if z == 8 else "H", p) for z, p in zip(numbers, x, strict=True)]
        mol = gto.M(atom=atoms, basis="def2-svp", unit="Angstrom", verbose=0)
        mf = scf.RHF(mol)
        mf.conv_tol = 1e-12
        mf.kernel()
        auxmol = df.addons.make_auxmol(mol, "def2-universal-jfit")
        c_pyscf = fit_density_pyscf(mol, mf.make_rdm1(), auxmol)
        basis = BasisSet.from_pyscf(auxmol, "def2-universal-jfit")
        out.append((x, c_pyscf, basis.pyscf_to_e3nn(c_pyscf, numbers), basis, auxmol))
    return numbers, q, out


def test_fitted_coefficients_rotate_with_wigner_d(pyscf_dimer_fits):
    numbers, q, ((_, _, c, basis, _), (_, _, c_rot, _, _)) = pyscf_dimer_fits
    expected = rotate_coefficients(torch.tensor(c), numbers, basis, torch.tensor(q)).numpy()
    assert np.abs(c_rot - c).max() > 0.1  # the rotation does change the coefficients
    np.testing.assert_allclose(c_rot, expected, atol=1e-6)


def test_rebuilt_density_matches_pyscf_fit(pyscf_dimer_fits):
    from tutorial_utils.density import BOHR

    numbers, _, ((x, c_pyscf, c, basis, auxmol), _) = pyscf_dimer_fits
    rng = np.random.default_rng(4)
    points = x[rng.integers(len(x), size=200)] + rng.normal(0, 0.7, (200, 3))
    theirs = auxmol.eval_gto("GTOval_sph", points / BOHR) @ c_pyscf / BOHR**3
    ours = density_on_points(torch.tensor(x), numbers, torch.tensor(c), basis, torch.tensor(points)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- grids and density matrices


def test_integration_grid_integrates_gaussians_and_densities():
    from tutorial_utils.density import integration_grid

    pos = WATER_POS
    # a sum of normalised Gaussians of different widths, one per atom (and one off-centre)
    centres = torch.cat([pos, torch.tensor([[0.3, 0.4, -0.2]], dtype=torch.float64)])
    alphas = torch.tensor([8.0, 2.0, 0.5, 1.0], dtype=torch.float64)
    errors = []
    for n_radial, n_theta in [(24, 6), (50, 12)]:  # the default grid, and a finer one
        pts, w = integration_grid(pos, WATER_Z, n_radial, n_theta)
        g = ((alphas / math.pi) ** 1.5 * torch.exp(-alphas * torch.cdist(pts, centres) ** 2)).sum(-1)
        errors.append(abs(float(w @ g) - 4.0) / 4.0)
    assert errors[0] < 1e-3 and errors[1] < 1e-5 and errors[1] < errors[0]  # converges
    pts, w = integration_grid(pos, WATER_Z)
    basis = toy_basis()
    rng = np.random.default_rng(5)
    c = torch.tensor(rng.normal(size=int(basis.offsets(WATER_Z)[-1])))
    rho = density_on_points(pos, WATER_Z, c, basis, pts)
    n_el, _ = electrons_and_dipole(pos, WATER_Z, c, basis)
    assert abs(float(w @ rho) - float(n_el)) < 1e-3 * max(1.0, abs(float(n_el)))  # random coefficients: spiky
    with pytest.raises(ValueError, match="positions must have shape"):
        integration_grid(pos[:2], WATER_Z)


def test_eps_rho_and_its_bad_input():
    from tutorial_utils.density import eps_rho

    w = torch.full((4,), 0.5, dtype=torch.float64)
    rho = torch.tensor([1.0, 2.0, 3.0, 4.0], dtype=torch.float64)
    assert eps_rho(rho, rho, w, 10) == 0.0
    assert abs(eps_rho(rho + 0.1, rho, w, 10) - 0.02) < 1e-12
    with pytest.raises(ValueError, match="one shape"):
        eps_rho(rho[:3], rho, w, 10)


def test_density_matrix_helpers():
    from tutorial_utils.density import BOHR, density_from_matrix, integration_grid, unpack_tril

    a = torch.tensor([[1.0, 2.0, 4.0], [2.0, 3.0, 5.0], [4.0, 5.0, 6.0]], dtype=torch.float64)
    i, j = torch.tril_indices(3, 3)
    torch.testing.assert_close(unpack_tril(a[i, j], 3), a)
    with pytest.raises(ValueError, match="lower triangle"):
        unpack_tril(a[i, j][:-1], 3)
    # one normalised s function with D = [[2]]: rho = 2 phi^2 integrates to 2 electrons
    norm = primitive_norm(0, 0.8)  # unit norm with the orthonormal Y_00
    basis = BasisSet("one-s", {1: ElementBasis(1, (Shell(0, np.array([0.8]), np.array([norm])),), (0,))})
    pos = torch.zeros(1, 3, dtype=torch.float64)
    pts, w = integration_grid(pos, [1])
    rho = density_from_matrix(pos, [1], torch.tensor([[2.0]], dtype=torch.float64), basis, pts)
    assert abs(float(w @ rho) - 2.0) < 2e-5
    assert float(rho.max()) > 1.0 / BOHR**3 * 0.01
    with pytest.raises(ValueError, match="density matrix must have shape"):
        density_from_matrix(pos, [1], torch.eye(2, dtype=torch.float64), basis, pts)


def test_basis_arrays_with_a_prefix_round_trip():
    basis = toy_basis()
    arrays = basis.to_arrays("ao_basis_")
    assert all(k.startswith("ao_basis_") for k in arrays)
    again = BasisSet.from_arrays(arrays, prefix="ao_basis_")
    assert str(again.irreps(8)) == str(basis.irreps(8))
    with pytest.raises(ValueError, match="missing"):
        BasisSet.from_arrays(arrays)  # the default prefix finds nothing


def heldout_parts() -> list[Path]:
    return sorted(p for p in DATA.glob("dft_*_s*.npz") if "density_matrix" in np.load(p).files)


@pytest.mark.skipif(not heldout_parts(), reason="data/water has no held-out part with density matrices")
def test_stored_density_matrices_rebuild_the_dft_density():
    """The stored (e3nn-layout, float32) DFT density matrices reproduce pyscf's DFT density at the
    stored probe points, integrate to 10 electrons per molecule, and the fitting floor on our grid
    agrees with the one pyscf's grid gave at generation time."""
    from tutorial_utils.density import density_errors, density_from_matrix, load_density_matrices

    path = heldout_parts()[0]
    with np.load(path, allow_pickle=False) as f:
        arr = {k: f[k] for k in ("probe_points", "probe_rho_dft")}
    clusters, basis = load_clusters(path)
    dms, ao_basis = load_density_matrices(path)
    k = int(np.argmin([len(c.numbers) for c in clusters]))
    c = clusters[k]
    rho = density_from_matrix(c.positions, c.numbers, dms[k], ao_basis, torch.tensor(arr["probe_points"][k]))
    np.testing.assert_allclose(rho.numpy(), arr["probe_rho_dft"][k], rtol=1e-5, atol=1e-6)
    r = density_errors(c, {"same": c.coefficients, "zero": torch.zeros_like(c.coefficients)}, basis, dms[k], ao_basis)
    assert r["eps_same"] < 1e-12 and abs(r["eps_same_dft"] - r["floor"]) < 1e-12  # round-off only
    assert abs(r["eps_zero"] - r["n_grid_fit"] / r["n_electrons"]) < 1e-3  # int |0 - rho| ~ N
    assert abs(r["n_grid_dft"] - 10 * c.n_molecules) < 1e-3 * c.n_molecules
    assert abs(r["floor"] - c.eps_rho) < 0.05 * c.eps_rho  # our grid vs pyscf's grid
