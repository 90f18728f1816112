"""MD drivers and the analysis notebook 04 reports: temperature, drift, bonds, angles, overlap."""

import numpy as np
import pytest
from ase import Atoms, units
from ase.build import molecule
from ase.calculators.emt import EMT

from tutorial_utils.md import (
    MDTrace,
    bond_angle_triples,
    bond_angles,
    bond_lengths,
    covalent_bonds,
    energy_drift,
    histogram_overlap,
    kinetic_temperature,
    molecular_cluster,
    run_langevin,
    run_nve,
    time_per_call,
)


def _cu_cluster() -> Atoms:
    from ase.cluster import Icosahedron

    atoms = Icosahedron("Cu", noshells=2)  # 13 atoms
    atoms.calc = EMT()
    return atoms


def test_kinetic_temperature_counts_3n_minus_3_and_ignores_drift():
    atoms = Atoms("H2", positions=[[0, 0, 0], [0, 0, 1]])
    m = atoms.get_masses()[0]
    # opposite momenta along z: E_kin = 2 * p^2 / 2m, 3 dof -> T = 2 E_kin / (3 kB)
    p = np.sqrt(m * units.kB * 300.0 * 3 / 2)
    atoms.set_momenta([[0, 0, p], [0, 0, -p]])
    assert kinetic_temperature(atoms) == pytest.approx(300.0, rel=1e-12)
    atoms.set_momenta([[0, 0, p + 5.0], [0, 0, -p + 5.0]])  # add a uniform drift
    assert kinetic_temperature(atoms) == pytest.approx(300.0, rel=1e-12)


def test_ethanol_bonds_and_angles():
    atoms = molecule("CH3CH2OH")
    bonds = covalent_bonds(atoms)
    sym = atoms.get_chemical_symbols()
    kinds = sorted("".join(sorted(sym[i] + sym[j])) for i, j in bonds)
    assert kinds == sorted(["CC", "CO", "HO"] + ["CH"] * 5)
    triples = bond_angle_triples(bonds)
    # angles: at the methyl C 3 H + 1 C -> 6; at CH2 C: 2 H + C + O -> 6; at O: C, H -> 1
    assert len(triples) == 13
    d = bond_lengths(atoms.positions[None], bonds)[0]
    for (i, j), dij in zip(bonds, d, strict=True):
        assert dij == pytest.approx(atoms.get_distance(i, j), abs=1e-12)
    a = bond_angles(atoms.positions[None], triples)[0]
    for (i, j, k), ang in zip(triples, a, strict=True):
        assert ang == pytest.approx(atoms.get_angle(i, j, k), abs=1e-8)


def test_energy_drift_recovers_a_slope():
    t = np.arange(1, 2001) * 0.5  # fs
    etot = -100.0 + 0.003 * t / 1000 + 1e-4 * np.sin(t)  # 3 meV/ps on top of a wiggle
    trace = MDTrace(t, etot, np.zeros_like(t), np.zeros_like(t), np.zeros((0, 3, 3)), 1.0)
    res = energy_drift(trace, n_atoms=3)
    assert res["drift_eV_per_ps"] == pytest.approx(0.003, rel=0.02)
    assert res["drift_meV_per_atom_per_ps"] == pytest.approx(1.0, rel=0.02)
    assert res["duration_ps"] == pytest.approx(1.0)


def test_histogram_overlap():
    rng = np.random.default_rng(0)
    a, b = rng.normal(0, 1, 20000), rng.normal(0, 1, 20000)
    assert histogram_overlap(a, b) > 0.95
    assert histogram_overlap(a, b + 10) < 0.01
    with pytest.raises(ValueError, match="non-empty"):
        histogram_overlap(a, np.array([]))


def test_nve_conserves_energy_with_emt():
    atoms = _cu_cluster()
    trace = run_nve(atoms, steps=400, dt_fs=2.0, temperature_K=300, record_every=100)
    res = energy_drift(trace, len(atoms))
    # EMT is smooth; with a 2 fs step the total energy stays within a fraction of a meV/atom
    assert abs(res["drift_meV_per_atom_per_ps"]) < 1.0
    assert res["fluctuation_meV_per_atom"] < 1.0
    assert trace.positions.shape == (4, 13, 3)
    assert np.ptp(trace.epot) > 10 * np.ptp(trace.etot)  # energy flows, the total does not


def test_langevin_reaches_its_temperature_and_restores_constraints():
    atoms = _cu_cluster()
    trace = run_langevin(atoms, steps=1000, temperature_K=600, dt_fs=2.0, friction_per_fs=0.02, seed=0)
    t_mean = trace.temperature_K[300:].mean()
    assert 450 < t_mean < 750  # 13 atoms fluctuate strongly; wrong units would be off by orders
    assert not atoms.constraints  # the FixCom used during the run is removed afterwards


def test_md_bad_inputs():
    atoms = molecule("H2O")
    with pytest.raises(ValueError, match="no calculator"):
        run_nve(atoms, steps=10)
    atoms.calc = EMT()
    with pytest.raises(ValueError, match="steps >= 1"):
        run_nve(atoms, steps=0)


def test_time_per_call_is_a_positive_median():
    calls = []
    t = time_per_call(lambda: calls.append(1), calls=5, warmup=2)
    assert len(calls) == 7 and t >= 0


def test_molecular_cluster_keeps_every_copy_rigid_and_apart():
    ethanol = molecule("CH3CH2OH")
    cluster = molecular_cluster(ethanol, 8, spacing=4.5, seed=1)
    assert len(cluster) == 8 * len(ethanol)
    assert (cluster.get_atomic_numbers() == np.tile(ethanol.get_atomic_numbers(), 8)).all()
    d_ref = ethanol.get_all_distances()
    copies = cluster.get_positions().reshape(8, len(ethanol), 3)
    for x in copies:  # each copy is the molecule, rotated: the same internal distances
        assert np.allclose(np.linalg.norm(x[:, None] - x[None], axis=-1), d_ref, atol=1e-10)
    centres = copies.mean(axis=1)
    gaps = np.linalg.norm(centres[:, None] - centres[None], axis=-1)[np.triu_indices(8, 1)]
    assert gaps.min() == pytest.approx(4.5, abs=0.2)  # nearest centres one grid step apart
    with pytest.raises(ValueError, match="at least 1"):
        molecular_cluster(ethanol, 0)
