"""O(3) sampling, transformations and the equivariance check itself."""

import numpy as np
import pytest
import torch
from ase.build import bulk, molecule
from e3nn import o3

from tutorial_utils.graphs import atoms_to_data, edge_vectors
from tutorial_utils.symmetry import (
    assert_equivariant,
    default_dtype,
    graph_equivariance_error,
    random_o3,
    random_rotation,
    rotate_irreps,
    transform_atoms,
    transform_data,
)


def test_random_elements_are_orthogonal_with_both_determinants(float64):
    Q = random_o3(200)
    eye = torch.eye(3).expand(200, 3, 3)
    assert torch.allclose(Q @ Q.transpose(1, 2), eye, atol=1e-12)
    det = torch.linalg.det(Q)
    assert torch.allclose(det.abs(), torch.ones(200))
    assert 50 < int((det < 0).sum()) < 150  # about half are improper
    assert torch.allclose(torch.linalg.det(random_rotation(50)), torch.ones(50))


def test_rotate_irreps_matches_vector_rotation(float64):
    Q = random_o3()
    x = torch.randn(7, 3)
    assert torch.allclose(rotate_irreps("1o", x, Q), x @ Q.T)
    # a pseudovector (1e) does not flip under inversion
    assert torch.allclose(rotate_irreps("1e", x, -torch.eye(3)), x)


def test_transform_data_and_atoms_keep_distances(float64):
    atoms = bulk("GaAs", "zincblende", a=5.65)
    Q, t = random_o3(), torch.randn(3)
    data = atoms_to_data(atoms, r_max=4.5)
    moved = transform_data(data, Q, t)
    assert torch.allclose(edge_vectors(moved), edge_vectors(data) @ Q.T, atol=1e-10)
    moved_atoms = transform_atoms(atoms, Q.numpy(), t.numpy())
    assert np.allclose(moved_atoms.get_all_distances(mic=True), atoms.get_all_distances(mic=True))


def _vector_model(data):
    """Sum of r^2 * r_hat over neighbours: an equivariant vector (1o) per atom."""
    v = edge_vectors(data)
    out = torch.zeros(data.num_nodes, 3, dtype=v.dtype)
    return out.index_add(0, data.edge_index[1], v * v.norm(dim=1, keepdim=True))


def test_equivariance_check_passes_for_equivariant_and_fails_otherwise(float64):
    atoms = bulk("NaCl", "rocksalt", a=5.64) * (1, 1, 2)
    atoms.rattle(0.1, seed=1)
    data = atoms_to_data(atoms, r_max=4.5)
    err = assert_equivariant(_vector_model, data, "1o")
    assert err < 1e-9
    # the same output declared a pseudovector must fail under inversion
    assert graph_equivariance_error(_vector_model, data, "1e") > 1e-3
    with pytest.raises(AssertionError, match="not equivariant"):
        assert_equivariant(lambda d: _vector_model(d).abs(), data, "1o")


def test_equivariance_check_for_molecules_and_several_outputs(float64):
    data = atoms_to_data(molecule("CH3CH2OH"), r_max=3.0)

    def energy_and_vectors(d):
        vec = _vector_model(d)
        return (vec.norm(dim=1) ** 2).sum().view(1, 1), vec

    assert graph_equivariance_error(energy_and_vectors, data, ["0e", "1o"]) < 1e-9


def test_spherical_harmonics_equivariance_float32_tolerance():
    x = torch.randn(50, 3)
    Q = random_o3()
    irreps = o3.Irreps.spherical_harmonics(3)
    Y = o3.spherical_harmonics(irreps, x, normalize=True)
    Y_rot = o3.spherical_harmonics(irreps, x @ Q.T, normalize=True)
    assert (Y_rot - rotate_irreps(irreps, Y, Q)).abs().max() < 1e-4


def test_float64_checks_are_exact_under_a_float32_default():
    """e3nn builds D matrices in the default dtype; the helpers must not lose float64 precision."""
    assert torch.get_default_dtype() == torch.float32
    Q = random_o3(dtype=torch.float64)
    x = torch.randn(5, 3, dtype=torch.float64)
    assert (rotate_irreps("1o", x, Q) - x @ Q.T).abs().max() < 1e-13
    atoms = bulk("NaCl", "rocksalt", a=5.64)
    atoms.rattle(0.1, seed=2)
    with default_dtype(torch.float64):
        data = atoms_to_data(atoms, r_max=4.5)
    assert data.pos.dtype == torch.float64 and torch.get_default_dtype() == torch.float32
    assert assert_equivariant(_vector_model, data, "1o") < 1e-9
