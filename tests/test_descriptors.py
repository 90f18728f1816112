"""Invariant descriptors: Steinhardt reference values, O(3) and permutation invariance,
equivariance of the spherical-harmonic projection, a degenerate pair, helpers."""

import math

import numpy as np
import pytest
import torch
from ase.build import bulk

from tutorial_utils.descriptors import (
    Bispectrum,
    ReferenceClassifier,
    aligned_rmsd,
    ideal_environment,
    irreps_sh,
    neighbour_average,
    power_spectrum,
    radial_basis,
    sh_projection,
    steinhardt_q,
    structure_descriptors,
)
from tutorial_utils.symmetry import random_o3, random_rotation, rotate_irreps

# q4, q6 from Steinhardt, Nelson, Ronchetti, PRB 28, 784 (1983) and Mickel et al.,
# J. Chem. Phys. 138, 044501 (2013), to 3 decimals.
STEINHARDT = {
    "fcc": (0.191, 0.575),
    "hcp": (0.097, 0.485),
    "bcc8": (0.509, 0.629),
    "bcc14": (0.036, 0.511),
    "sc": (0.764, 0.354),
}


@pytest.mark.parametrize("name", sorted(STEINHARDT))
def test_steinhardt_reference_values(name, float64):
    q = steinhardt_q(ideal_environment(name, d_nn=2.55), (4, 6))
    assert np.round(q.numpy(), 3).tolist() == list(STEINHARDT[name])


def test_steinhardt_per_atom_in_a_crystal(float64):
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)  # 12 neighbours within 3 Å
    q = structure_descriptors(atoms, r_max=3.0, l_max=6, kind="steinhardt")
    assert q.shape == (32, 7)
    assert torch.allclose(q[:, 4], torch.full((32,), 0.19094), atol=1e-4)
    assert torch.allclose(q[:, 6], torch.full((32,), 0.57452), atol=1e-4)


def test_neighbour_average(float64):
    atoms = bulk("Cu", "fcc", a=3.61, cubic=True).repeat(2)
    q = structure_descriptors(atoms, r_max=3.0, l_max=6, kind="steinhardt")
    assert torch.allclose(neighbour_average(atoms, q, 3.0), q)  # all atoms alike: unchanged
    features = torch.arange(32.0)[:, None]
    avg = neighbour_average(atoms, features, 3.0)  # atom 0 and its 12 neighbours
    assert torch.isclose(avg[0, 0], features[[0] + _neighbours_of_0(atoms)].mean())


def _neighbours_of_0(atoms) -> list[int]:
    d = atoms.get_distances(0, range(len(atoms)), mic=True)
    return [int(k) for k in np.flatnonzero((d > 0.1) & (d < 3.0))]


def _environment(seed: int, m: int = 9) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(m, 3, generator=g)
    return u / u.norm(dim=1, keepdim=True) * (2.0 + torch.rand(m, 1, generator=g))


_BISPECTRUM_4 = Bispectrum(4)


def _all_invariants(vec: torch.Tensor, l_max: int = 4) -> torch.Tensor:
    c = sh_projection(vec, l_max, radial_basis(vec.norm(dim=1), 3, r_max=3.5, r_min=1.5))
    return torch.cat([power_spectrum(c, l_max), _BISPECTRUM_4.to(c.dtype)(c), steinhardt_q(vec, (2, 4, 6))])


def test_invariance_under_o3_and_permutation(float64):
    torch.manual_seed(0)
    vec = _environment(1)
    ref = _all_invariants(vec)
    for _ in range(4):
        Q = random_o3()
        perm = torch.randperm(len(vec))
        for moved in (vec @ Q.T, vec[perm], (vec @ Q.T)[perm]):
            err = (_all_invariants(moved) - ref).abs().max() / ref.abs().max()
            assert err < 1e-6
    # and they do change when the environment changes (no tautology)
    assert (_all_invariants(_environment(2)) - ref).abs().max() / ref.abs().max() > 1e-2


def test_sh_projection_is_equivariant(float64):
    vec, l_max = _environment(3), 5
    radial = radial_basis(vec.norm(dim=1), 2, r_max=3.5)
    c = sh_projection(vec, l_max, radial)
    for _ in range(3):
        Q = random_o3()
        c_rot = sh_projection(vec @ Q.T, l_max, radial)
        assert torch.allclose(c_rot, rotate_irreps(irreps_sh(l_max), c, Q), atol=1e-10)


def test_batched_projection_matches_single(float64):
    a, b = _environment(4, 5), _environment(5, 7)
    center = torch.tensor([0] * 5 + [1] * 7)
    both = sh_projection(torch.cat([a, b]), 3, edge_center=center, average=True)
    assert torch.allclose(both[0], sh_projection(a, 3, average=True))
    assert torch.allclose(both[1], sh_projection(b, 3, average=True))


def test_pseudoscalar_bispectrum_flips_sign_under_a_mirror(float64):
    vec, l_max = _environment(8), 6
    radial = radial_basis(vec.norm(dim=1), 3, r_max=3.5, r_min=1.5)
    even, odd = Bispectrum(l_max), Bispectrum(l_max, parity=-1)
    assert all(sum(p) % 2 == 1 and p[0] < p[1] < p[2] for p in odd.paths)
    c = sh_projection(vec, l_max, radial)
    c_rot = sh_projection(vec @ random_rotation().T, l_max, radial)
    c_mirror = sh_projection(vec * torch.tensor([1.0, 1.0, -1.0]), l_max, radial)
    assert odd(c).abs().max() > 1e-4  # pseudoscalars, not zeros
    assert torch.allclose(odd(c_rot), odd(c), atol=1e-12)  # rotation invariant
    assert torch.allclose(odd(c_mirror), -odd(c), atol=1e-12)  # sign flip under a mirror
    assert torch.allclose(even(c_mirror), even(c), atol=1e-12)
    with pytest.raises(ValueError, match="parity must be"):
        Bispectrum(2, parity=0)


def _ring_with_poles(ks: list[int]) -> torch.Tensor:
    phi = torch.tensor(ks, dtype=torch.float64) * 2 * math.pi / 8
    ring = torch.stack([phi.cos(), phi.sin(), torch.zeros_like(phi)], 1)
    return torch.cat([ring, torch.tensor([[0.0, 0, 1], [0, 0, -1]])])


def test_degenerate_pair_power_spectrum_equal_bispectrum_different(float64):
    a, b = _ring_with_poles([0, 1, 2, 5]), _ring_with_poles([0, 1, 3, 4])
    ca, cb = sh_projection(a, 6), sh_projection(b, 6)
    assert (power_spectrum(ca, 6) - power_spectrum(cb, 6)).abs().max() < 1e-10
    bis = Bispectrum(6)
    assert (bis(ca) - bis(cb)).abs().max() > 1.0
    assert aligned_rmsd(a.numpy(), b.numpy()) > 0.1  # not the same environment


def test_aligned_rmsd_finds_rotation_reflection_permutation(float64):
    x = _environment(6, 6).numpy()
    Q = random_o3().numpy()
    y = (x @ Q.T)[np.random.default_rng(0).permutation(6)]
    assert aligned_rmsd(x, y) < 1e-8
    assert aligned_rmsd(x, _environment(7, 6).numpy()) > 0.1


def test_reference_classifier_separates_and_flags_outliers():
    rng = np.random.default_rng(0)
    ref = np.concatenate([rng.normal(0, 0.1, (200, 3)), rng.normal(3, 0.1, (200, 3))])
    labels = np.repeat([0, 1], 200)
    clf = ReferenceClassifier.fit(ref, labels, ["a", "b"])
    pred = clf.predict(np.array([[0.0, 0, 0], [3.0, 3, 3], [0.1, -0.1, 0.05], [1.5, -4, 8]]))
    assert pred.tolist() == [0, 1, 0, 2]


def test_clear_errors(float64):
    with pytest.raises(ValueError, match="unknown environment"):
        ideal_environment("diamond_cubic")
    with pytest.raises(ValueError, match="zero length"):
        sh_projection(torch.zeros(2, 3), 2)
    with pytest.raises(ValueError, match="l_max=3 needs 16"):
        power_spectrum(torch.zeros(1, 9), 3)
    with pytest.raises(ValueError, match="kind must be"):
        structure_descriptors(bulk("Cu"), 3.0, kind="soap")
