"""ASE's effective-medium theory (EMT) potential for one element, vectorised in torch.

``ase.calculators.emt.EMT`` loops over atoms in Python, which makes molecular dynamics
of a few hundred atoms slow on a laptop. :class:`TorchEMT` evaluates the same equations
(Jacobsen, Stoltze, Nørskov, Surf. Sci. 366, 394 (1996)) for all atoms at once, with the
parameters, cutoff and smoothing that ASE's EMT computes (it asks ASE for them), and
gets forces and stress by automatic differentiation. ``tests/test_emt.py`` checks energy,
per-atom energies, forces and stress against ASE's EMT and forces against -dE/dx.
"""

from __future__ import annotations

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT, beta

from ..graphs import periodic_radius_graph

__all__ = ["TorchEMT", "emt_atomic_energies"]


def emt_atomic_energies(edge_vec: torch.Tensor, edge_center: torch.Tensor, num_atoms: int,
                        par: dict[str, float], rc: float, acut: float) -> torch.Tensor:
    """EMT energy of each atom (num_atoms,) in eV, one element, from neighbour vectors (E, 3) Å.

    ``sigma1_i = sum_j exp(-eta2 (r_ij - beta s0)) w(r_ij)`` sets the neighbour-density
    radius ``ds_i``; the cohesive function of ``ds_i`` plus the atomic-sphere pair correction
    ``sum_j -V0 / (2 gamma2) exp(-kappa (r_ij / beta - s0)) w(r_ij)`` give the energy, minus
    ``E0`` (ASE's convention: zero for the perfect fcc crystal at its lattice constant).
    ``w`` is the logistic cutoff ``1 / (1 + exp(acut (r - rc)))``.
    """
    r = edge_vec.norm(dim=1)
    w = torch.sigmoid(-acut * (r - rc))
    dsigma1 = torch.exp(-par["eta2"] * (r - beta * par["s0"])) * w
    pair = par["neghalfv0overgamma2"] * torch.exp(-par["kappa"] * (r / beta - par["s0"])) * w
    sigma1 = r.new_zeros(num_atoms).index_add(0, edge_center, dsigma1)
    e_pair = r.new_zeros(num_atoms).index_add(0, edge_center, pair)
    ds = -torch.log(sigma1 * par["inv12gamma1"]) / (beta * par["eta2"])
    lam_ds = par["lambda"] * ds
    e_cohesive = par["E0"] * (1.0 + lam_ds) * torch.exp(-lam_ds) + 6.0 * par["V0"] * torch.exp(-par["kappa"] * ds)
    return e_cohesive + e_pair - par["E0"]


class TorchEMT(Calculator):
    """ASE calculator: EMT for a periodic crystal of one element (Al, Cu, Ag, Au, Ni, Pd, Pt).

    Same energies as ``ase.calculators.emt.EMT`` (default ``asap_cutoff=False``), computed
    in float64 torch; forces ``-dE/dx`` and stress ``(1/V) dE/d(strain)`` by autograd.
    """

    implemented_properties = ["energy", "free_energy", "energies", "forces", "stress"]
    nolabel = True

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        atoms = self.atoms
        if len(set(atoms.get_atomic_numbers())) != 1:
            raise ValueError("TorchEMT handles one element only; use ase.calculators.emt.EMT for alloys")
        if not atoms.pbc.all():
            raise ValueError("TorchEMT needs a periodic cell (pbc = True along all three cell vectors)")
        ref = EMT()
        ref.initialize(atoms)  # ASE's parameters, cutoff and smoothing for this element
        par = {k: float(v[0]) for k, v in ref.par.items()}
        edge_index, shift = periodic_radius_graph(atoms.positions, atoms.cell.array, True, ref.rc_list)
        dtype = torch.float64
        pos = torch.as_tensor(atoms.positions, dtype=dtype).requires_grad_()
        cell = torch.as_tensor(atoms.cell.array, dtype=dtype)
        strain = torch.zeros(3, 3, dtype=dtype, requires_grad=True)
        deform = torch.eye(3, dtype=dtype) + strain
        j, i = edge_index
        edge_vec = ((pos[j] - pos[i]) + shift.to(dtype) @ cell) @ deform
        energies = emt_atomic_energies(edge_vec, i, len(atoms), par, ref.rc, ref.acut)
        energy = energies.sum()
        grad_pos, grad_strain = torch.autograd.grad(energy, [pos, strain])
        stress = 0.5 * (grad_strain + grad_strain.T) / atoms.get_volume()
        self.results["energy"] = self.results["free_energy"] = float(energy.detach())
        self.results["energies"] = energies.detach().numpy()
        self.results["forces"] = -grad_pos.numpy()
        self.results["stress"] = np.asarray(stress.detach().numpy()).flat[[0, 4, 8, 5, 2, 1]]
