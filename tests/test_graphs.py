"""Radius graphs against a brute-force neighbour search, and their error messages."""

import itertools

import numpy as np
import pytest
import torch
from ase import Atoms
from ase.build import bulk, molecule
from torch_geometric.data import Batch

from tutorial_utils.graphs import (
    atoms_to_data,
    edge_vectors,
    periodic_radius_graph,
    radius_graph,
    structure_to_data,
    symbols_to_numbers,
)


def brute_force_pairs(pos: np.ndarray, cell: np.ndarray, pbc, r_max: float) -> set:
    """Every (j, i, shift) with |pos[j] - pos[i] + shift @ cell| < r_max, by enumeration.

    The range of shifts along each periodic axis is bounded by r_max divided by the
    distance between the lattice planes, plus one for atoms anywhere in the cell.
    """
    inv = np.linalg.inv(cell)
    plane_spacing = 1.0 / np.linalg.norm(inv, axis=0)
    n_max = [int(np.ceil(r_max / plane_spacing[k])) + 1 if pbc[k] else 0 for k in range(3)]
    ranges = [range(-n, n + 1) for n in n_max]
    pairs = set()
    for shift in itertools.product(*ranges):
        vec = pos[None, :, :] - pos[:, None, :] + np.array(shift) @ cell  # [i, j]
        d = np.linalg.norm(vec, axis=-1)
        for i, j in zip(*np.nonzero(d < r_max)):
            if i == j and shift == (0, 0, 0):
                continue
            pairs.add((int(j), int(i), shift))
    return pairs


def graph_pairs(edge_index: torch.Tensor, edge_shift: torch.Tensor) -> set:
    return {
        (int(j), int(i), tuple(int(round(float(s))) for s in shift))
        for (j, i), shift in zip(edge_index.T.tolist(), edge_shift)
    }


def random_cell(rng: np.random.Generator, scale: float) -> np.ndarray:
    """A random triclinic cell: a scaled identity plus random shear, rows as vectors."""
    cell = scale * (np.eye(3) + 0.4 * rng.uniform(-1, 1, size=(3, 3)))
    if np.linalg.det(cell) < 0:
        cell[0] *= -1  # a left-handed cell is still a cell; keep most tests right-handed
    return cell


@pytest.mark.parametrize("seed", range(6))
def test_periodic_graph_matches_brute_force_triclinic(seed):
    rng = np.random.default_rng(seed)
    n_atoms = int(rng.integers(1, 6))
    cell = random_cell(rng, scale=float(rng.uniform(1.5, 4.0)))
    pos = rng.uniform(size=(n_atoms, 3)) @ cell
    r_max = float(rng.uniform(2.0, 5.0))  # often larger than the cell: many images
    edge_index, edge_shift = periodic_radius_graph(pos, cell, True, r_max)
    expected = brute_force_pairs(pos, cell, [True] * 3, r_max)
    assert graph_pairs(edge_index, edge_shift) == expected
    assert len(expected) > 0


def test_cutoff_much_larger_than_cell_sees_many_images():
    cell = np.array([[1.2, 0.0, 0.0], [0.5, 1.1, 0.0], [0.3, 0.2, 1.3]])
    pos = np.array([[0.1, 0.2, 0.3], [0.7, 0.6, 0.5]])
    edge_index, edge_shift = periodic_radius_graph(pos, cell, True, 4.0)
    assert graph_pairs(edge_index, edge_shift) == brute_force_pairs(pos, cell, [True] * 3, 4.0)
    assert edge_index.shape[1] > 200


def test_isolated_atom_in_periodic_cell_sees_its_images():
    atoms = Atoms("Ar", positions=[[0, 0, 0]], cell=np.eye(3) * 3.0, pbc=True)
    data = atoms_to_data(atoms, r_max=3.5)
    assert data.edge_index.shape[1] == 6  # the six face neighbours at 3.0 Å
    assert torch.allclose(edge_vectors(data).norm(dim=1), torch.full((6,), 3.0))
    lonely = atoms_to_data(Atoms("Ar", positions=[[0, 0, 0]], cell=np.eye(3) * 10, pbc=True), 3.5)
    assert lonely.edge_index.shape[1] == 0


def test_mixed_boundaries_slab():
    rng = np.random.default_rng(7)
    cell = np.diag([2.5, 2.7, 12.0])
    pos = rng.uniform(size=(4, 3)) @ cell
    pbc = [True, True, False]
    edge_index, edge_shift = periodic_radius_graph(pos, cell, pbc, 3.0)
    assert graph_pairs(edge_index, edge_shift) == brute_force_pairs(pos, cell, pbc, 3.0)
    assert (edge_shift[:, 2] == 0).all()


def test_fcc_copper_has_twelve_nearest_neighbours():
    data = atoms_to_data(bulk("Cu", "fcc", a=3.61), r_max=3.0)
    assert data.edge_index.shape[1] == 12
    assert torch.allclose(edge_vectors(data).norm(dim=1), torch.full((12,), 3.61 / 2**0.5), atol=1e-5)


@pytest.mark.parametrize("seed", range(3))
def test_molecular_graph_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    pos = torch.as_tensor(rng.uniform(0, 4, size=(15, 3)))
    edge_index = radius_graph(pos, 1.8)
    d = torch.cdist(pos, pos)
    expected = {(j, i) for i in range(15) for j in range(15) if i != j and d[i, j] < 1.8}
    assert {tuple(e) for e in edge_index.T.tolist()} == expected


def test_molecular_batch_has_no_edges_between_molecules():
    pos = torch.tensor([[0.0, 0, 0], [1.0, 0, 0], [0.5, 0, 0], [0.2, 0, 0]])
    batch = torch.tensor([0, 0, 1, 1])
    edge_index = radius_graph(pos, 2.0, batch=batch)
    assert (batch[edge_index[0]] == batch[edge_index[1]]).all()
    assert edge_index.shape[1] == 4


def test_edge_vectors_are_differentiable_wrt_positions_and_cell(float64):
    data = atoms_to_data(bulk("NaCl", "rocksalt", a=5.64), r_max=4.5)
    data.pos.requires_grad_(True)
    data.cell.requires_grad_(True)
    energy = (edge_vectors(data).norm(dim=1) ** 2).sum()
    g_pos, g_cell = torch.autograd.grad(energy, [data.pos, data.cell])
    assert torch.isfinite(g_pos).all() and g_cell.abs().sum() > 0
    # d/dcell of sum |v|^2 with v = pos_j - pos_i + s @ cell is 2 sum_e s_e^T v_e
    v = edge_vectors(data).detach()
    expected = 2 * torch.einsum("ek,ex->kx", data.edge_shift, v)
    assert torch.allclose(g_cell[0], expected, atol=1e-8)


def test_batched_crystals_and_molecules_give_the_same_edges_as_alone():
    crystal = atoms_to_data(bulk("Si", "diamond", a=5.43), r_max=3.0)
    mol = atoms_to_data(molecule("H2O"), r_max=3.0)
    batch = Batch.from_data_list([mol, crystal, mol])
    lengths = edge_vectors(batch).norm(dim=1)
    alone = torch.cat([edge_vectors(d).norm(dim=1) for d in (mol, crystal, mol)])
    assert torch.allclose(lengths, alone)


def test_pymatgen_structure_and_molecule():
    from pymatgen.core import Lattice, Molecule, Structure

    s = Structure(Lattice.cubic(3.61), ["Cu"] * 4, [[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    data = structure_to_data(s, r_max=3.0)
    assert data.edge_index.shape[1] == 48 and data.z.tolist() == [29] * 4
    m = Molecule(["O", "H", "H"], [[0, 0, 0], [0.96, 0, 0], [-0.24, 0.93, 0]])
    md = structure_to_data(m, r_max=1.2)
    assert md.edge_index.shape[1] == 4 and not bool(md.pbc.any())


# ---- bad inputs: each gives a clear error ---------------------------------------------


def test_empty_structure():
    with pytest.raises(ValueError, match="no atoms"):
        atoms_to_data(Atoms(), r_max=3.0)
    with pytest.raises(ValueError, match="no atoms"):
        radius_graph(torch.zeros(0, 3), 3.0)


def test_nan_position_names_the_atom():
    atoms = molecule("H2O")
    pos = atoms.get_positions()
    pos[2, 1] = np.nan
    atoms.set_positions(pos)
    with pytest.raises(ValueError, match="atom 2"):
        atoms_to_data(atoms, r_max=3.0)


def test_non_periodic_structure_to_periodic_builder():
    with pytest.raises(ValueError, match="not periodic.*radius_graph"):
        periodic_radius_graph(np.zeros((2, 3)), np.eye(3) * 5, False, 3.0)


def test_zero_volume_cell():
    with pytest.raises(ValueError, match="volume is zero"):
        periodic_radius_graph(np.zeros((1, 3)), np.array([[1.0, 0, 0], [2.0, 0, 0], [0, 0, 1]]), True, 3.0)


def test_unknown_element_symbol():
    with pytest.raises(ValueError, match="unknown element symbol 'Xx' at position 1"):
        symbols_to_numbers(["H", "Xx"])
    assert symbols_to_numbers(["H", "Cu"]) == [1, 29]


@pytest.mark.parametrize("r_max", [-1.0, 0.0, float("nan")])
def test_bad_cutoff(r_max):
    with pytest.raises(ValueError, match="r_max must be a positive"):
        atoms_to_data(molecule("H2O"), r_max=r_max)
    with pytest.raises(ValueError, match="r_max must be a positive"):
        periodic_radius_graph(np.zeros((1, 3)), np.eye(3), True, r_max)


def test_wrong_position_shape():
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        radius_graph(torch.zeros(4, 2), 3.0)
