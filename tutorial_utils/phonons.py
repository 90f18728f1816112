"""Phonon densities of states of crystals with an E(3)-equivariant network (notebook 06).

What lives here, because the notebook and the tests both need it:

* node features from element and mass, with a *weighted* element encoding so that a
  site shared by several elements (an alloy) is a mixture of their encodings;
* :func:`crystal_to_data`: a crystal as a periodic radius graph with those features;
* :class:`PhononDoSNet`: an e3nn message-passing network whose per-atom outputs are
  mean-pooled into a non-negative 51-point DoS (max-normalised like the data);
* :func:`element_stratified_split`: a train/valid/test split that keeps every element in
  the training set where possible;
* metrics: :func:`dos_metrics` (MSE, R^2 with a global mean and with per-bin means),
  :func:`heat_capacity` and :func:`average_frequency` computed from a DoS;
* :func:`cell_variants`: the same crystal as primitive, conventional and super cell.

Units: frequencies in cm^-1, distances in Å, masses in atomic mass units (u),
heat capacities in k_B per atom (the Dulong-Petit limit is 3).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from e3nn import o3
from e3nn.math import soft_one_hot_linspace
from e3nn.nn import FullyConnectedNet, Gate
from torch import nn
from torch_geometric.data import Data
from torch_geometric.utils import scatter

from .graphs import atoms_to_data, edge_vectors

__all__ = [
    "Interaction",
    "N_ELEMENTS",
    "MASS_SCALE",
    "PhononDoSNet",
    "MODEL_HPARAMS",
    "TRAIN_HPARAMS",
    "average_frequency",
    "dos_loss",
    "mean_num_neighbors",
    "potential_phonon_dos",
    "cell_variants",
    "crystal_to_data",
    "dos_metrics",
    "element_stratified_split",
    "heat_capacity",
    "node_features",
    "predict_dos",
]

N_ELEMENTS = 118  # one-hot slots: atomic numbers 1..118
MASS_SCALE = 100.0  # u; masses enter the network as mass / MASS_SCALE
CM1_TO_K = 1.438776877  # h c / k_B in K per cm^-1: x = hc*nu/(k_B T) = 1.4388 * nu[cm^-1] / T[K]

SiteSpecies = Mapping[int, float]  # {atomic number: fraction} for one site


def node_features(site_species: Sequence[SiteSpecies]) -> torch.Tensor:
    """Weighted element encoding and mass of each site: (N, 119) in the default dtype.

    ``site_species[i]`` maps atomic numbers to fractions summing to 1 (``{12: 1.0}`` for a
    Mg site, ``{51: 0.7, 83: 0.3}`` for a site shared by Sb and Bi). Columns 0..117 hold the
    fractions at slot Z-1 (a one-hot vector for an ordinary site); column 118 holds the
    mean mass sum_Z f_Z m_Z / MASS_SCALE.
    """
    from ase.data import atomic_masses

    if len(site_species) == 0:
        raise ValueError("the structure has no sites; a crystal needs at least one atom")
    x = torch.zeros(len(site_species), N_ELEMENTS + 1, dtype=torch.float64)
    for i, species in enumerate(site_species):
        total = float(sum(species.values()))
        if not species or abs(total - 1.0) > 1e-6:
            raise ValueError(f"site {i}: the element fractions {dict(species)} must sum to 1, got {total}")
        for z, f in species.items():
            z = int(z)
            if not 1 <= z <= N_ELEMENTS:
                raise ValueError(f"site {i}: atomic number {z} is not an element (valid: 1 to 118)")
            if f < 0:
                raise ValueError(f"site {i}: fraction {f} of element {z} is negative")
            x[i, z - 1] += f
            x[i, N_ELEMENTS] += f * float(atomic_masses[z]) / MASS_SCALE
    return x.to(torch.get_default_dtype())


def crystal_to_data(atoms, r_max: float, dos: np.ndarray | None = None,
                    site_species: Sequence[SiteSpecies] | None = None, **extra) -> Data:
    """A crystal (``ase.Atoms``) as a periodic radius graph with element+mass features.

    Adds ``x`` (N, 119) from :func:`node_features` (``site_species`` overrides the
    elements of ``atoms``, for alloys) and, if ``dos`` (51,) is given, the target
    ``y`` (1, 51). See :func:`tutorial_utils.graphs.atoms_to_data` for the other fields.
    """
    if site_species is None:
        site_species = [{int(z): 1.0} for z in atoms.get_atomic_numbers()]
    if len(site_species) != len(atoms):
        raise ValueError(f"site_species has {len(site_species)} entries but the crystal has {len(atoms)} atoms")
    if dos is not None:
        y = torch.as_tensor(np.asarray(dos, dtype=np.float64)).to(torch.get_default_dtype()).view(1, -1)
        extra["y"] = y
    return atoms_to_data(atoms, r_max, x=node_features(site_species), **extra)


def _smooth_cutoff(r: torch.Tensor, r_max: float) -> torch.Tensor:
    """1 - 10 u^3 + 15 u^4 - 6 u^5 with u = r / r_max: goes from 1 to 0 with zero slope and
    curvature at r_max, so an edge that crosses the cutoff enters or leaves smoothly."""
    u = (r / r_max).clamp(0.0, 1.0)
    return 1 - 10 * u**3 + 15 * u**4 - 6 * u**5


class Interaction(nn.Module):
    """One message-passing step: h_i <- Gate( W_self h_i + W (1/sqrt(k)) sum_j TP(h_j, Y(r_ij); R(|r_ij|)) ).

    Args:
        irreps_in: irreps of the node features h.
        irreps_hidden: the irreps wanted after the gate (scalars 0e/0o and gated l > 0).
        irreps_sh: spherical harmonics of the edge direction, e.g. ``1x0e+1x1o+1x2e``.
        n_basis: radial basis functions; radial_hidden: width of the radial MLP.
        avg_num_neighbors: the sum over neighbours is divided by its square root.
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_hidden: o3.Irreps, irreps_sh: o3.Irreps,
                 n_basis: int, radial_hidden: int, avg_num_neighbors: float) -> None:
        super().__init__()
        self.irreps_in = o3.Irreps(irreps_in)
        self.avg_num_neighbors = float(avg_num_neighbors)
        hidden = o3.Irreps(irreps_hidden)
        scalars = o3.Irreps([(m, ir) for m, ir in hidden if ir.l == 0])
        gated = o3.Irreps([(m, ir) for m, ir in hidden if ir.l > 0])
        # paths the tensor product can reach; keep only gated irreps that are reachable
        reach = {ir_out for _, ir1 in self.irreps_in for _, ir2 in irreps_sh for ir_out in ir1 * ir2}
        gated = o3.Irreps([(m, ir) for m, ir in gated if ir in reach])
        gates = o3.Irreps([(m, "0e") for m, _ in gated])
        acts = [torch.nn.functional.silu if ir.p == 1 else torch.tanh for _, ir in scalars]
        self.gate = Gate(scalars, acts, gates, [torch.sigmoid] * len(gates), gated)
        target = self.gate.irreps_in
        irreps_mid, instructions = [], []
        for i, (mul, ir_in) in enumerate(self.irreps_in):
            for j, (_, ir_sh) in enumerate(irreps_sh):
                for ir_out in ir_in * ir_sh:
                    if ir_out in target:
                        instructions.append((i, j, len(irreps_mid), "uvu", True))
                        irreps_mid.append((mul, ir_out))
        self.tp = o3.TensorProduct(self.irreps_in, irreps_sh, o3.Irreps(irreps_mid), instructions,
                                   shared_weights=False, internal_weights=False)
        self.radial = FullyConnectedNet([n_basis, radial_hidden, self.tp.weight_numel], torch.nn.functional.silu)
        self.linear = o3.Linear(self.tp.irreps_out, target)
        self.self_connection = o3.Linear(self.irreps_in, target)
        self.irreps_out = self.gate.irreps_out

    def forward(self, h: torch.Tensor, edge_index: torch.Tensor, edge_sh: torch.Tensor,
                edge_basis: torch.Tensor, edge_cut: torch.Tensor) -> torch.Tensor:
        j, i = edge_index
        messages = self.tp(h[j], edge_sh, self.radial(edge_basis)) * edge_cut[:, None]
        summed = torch.zeros(h.shape[0], messages.shape[1], dtype=h.dtype, device=h.device)
        summed.index_add_(0, i, messages)
        out = self.linear(summed / self.avg_num_neighbors**0.5) + self.self_connection(h)
        return self.gate(out)


class PhononDoSNet(nn.Module):
    """Crystal -> phonon DoS on ``n_out`` frequency bins, invariant under E(3) and cell choice.

    1. Embed each site's features x (N, 119) (weighted one-hot + mass) into scalars.
    2. ``n_layers`` :class:`Interaction` steps over the periodic radius graph (edge vectors
       pos_j - pos_i + shift @ cell; spherical harmonics up to ``l_max``; Bessel radial
       basis times a smooth cutoff at ``r_max``).
    3. Each atom's scalars -> an MLP -> softplus: a non-negative per-atom DoS (N, n_out).
    4. Mean over the atoms of each crystal (so a supercell gives the same answer), then
       divide by the maximum over bins: a max-normalised DoS like the data (B, n_out).

    The element part of the embedding starts at zero, so an element never seen in
    training is described by its mass alone (see the generalisation section).
    """

    def __init__(self, r_max: float = 5.0, l_max: int = 2, mul: int = 32, mul_vec: int = 8,
                 n_layers: int = 3, n_basis: int = 10, radial_hidden: int = 32, n_out: int = 51,
                 avg_num_neighbors: float = 30.0, normalise_max: bool = True) -> None:
        super().__init__()
        self.r_max, self.n_basis, self.normalise_max = float(r_max), int(n_basis), normalise_max
        self.irreps_sh = o3.Irreps.spherical_harmonics(l_max)
        self.embed = nn.Linear(N_ELEMENTS + 1, mul)
        with torch.no_grad():
            self.embed.weight[:, :N_ELEMENTS].zero_()
        vec = " + ".join(f"{mul_vec}x{l}{p}" for l in range(1, l_max + 1) for p in ("e", "o"))
        irreps_hidden = o3.Irreps(f"{mul}x0e + {mul}x0o + {vec}")
        irreps = o3.Irreps(f"{mul}x0e")
        layers = []
        for k in range(n_layers):
            # the last layer only needs invariant outputs: dropping its l > 0 paths saves time
            target = irreps_hidden if k < n_layers - 1 else o3.Irreps(f"{mul}x0e")
            layer = Interaction(irreps, target, self.irreps_sh, n_basis, radial_hidden, avg_num_neighbors)
            layers.append(layer)
            irreps = layer.irreps_out
        self.layers = nn.ModuleList(layers)
        self.irreps_final = irreps
        self.to_scalars = o3.Linear(irreps, f"{mul}x0e")  # keeps only the invariant part
        self.head = nn.Sequential(nn.Linear(mul, 2 * mul), nn.SiLU(), nn.Linear(2 * mul, n_out))

    def atom_dos(self, data: Data) -> torch.Tensor:
        """Non-negative per-atom contributions (N, n_out) before pooling."""
        vec = edge_vectors(data)
        r = vec.norm(dim=1)
        edge_sh = o3.spherical_harmonics(self.irreps_sh, vec, normalize=True, normalization="component")
        edge_basis = soft_one_hot_linspace(r, 0.0, self.r_max, self.n_basis, basis="bessel", cutoff=True)
        edge_basis = edge_basis * self.n_basis**0.5
        edge_cut = _smooth_cutoff(r, self.r_max)
        h = self.embed(data.x)
        for layer in self.layers:
            h = layer(h, data.edge_index, edge_sh, edge_basis, edge_cut)
        return torch.nn.functional.softplus(self.head(self.to_scalars(h)))

    def forward(self, data: Data) -> torch.Tensor:
        """The DoS of each crystal in the batch: (B, n_out), non-negative, max 1 per crystal."""
        per_atom = self.atom_dos(data)
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(per_atom.shape[0], dtype=torch.long, device=per_atom.device)
        dos = scatter(per_atom, batch, dim=0, reduce="mean")
        if self.normalise_max:
            dos = dos / (dos.max(dim=1, keepdim=True).values + 1e-8)
        return dos


@torch.no_grad()
def predict_dos(model: nn.Module, graphs: Sequence[Data], batch_size: int = 32) -> np.ndarray:
    """Predicted DoS (M, n_out) for a list of graphs, in evaluation mode."""
    from torch_geometric.loader import DataLoader

    model.eval()
    device = next(model.parameters()).device
    out = [model(b.to(device)).cpu() for b in DataLoader(list(graphs), batch_size=batch_size)]
    return torch.cat(out).double().numpy()


def element_stratified_split(element_sets: Sequence[set[int]], fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
                             seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split crystals into train/valid/test so every element appears in training where possible.

    Elements are visited from the rarest to the most common; the crystals holding an
    element that are not yet assigned are shuffled and cut in the given fractions, the
    training set taking at least one. So an element found in a single crystal is only
    in training, and every element with k >= 1 crystals has at least one training crystal.

    Args:
        element_sets: the set of atomic numbers of each crystal.
        fractions: train, valid, test fractions (positive, summing to 1).

    Returns:
        Three sorted index arrays (train, valid, test) covering every crystal once.
    """
    f = np.asarray(fractions, dtype=float)
    if f.shape != (3,) or (f < 0).any() or abs(f.sum() - 1) > 1e-9:
        raise ValueError(f"fractions must be three non-negative numbers summing to 1, got {fractions}")
    rng = np.random.default_rng(seed)
    counts: dict[int, int] = {}
    for s in element_sets:
        for z in s:
            counts[z] = counts.get(z, 0) + 1
    assigned = np.full(len(element_sets), -1)
    for z in sorted(counts, key=lambda z: (counts[z], z)):
        idx = np.array([k for k, s in enumerate(element_sets) if z in s and assigned[k] < 0], dtype=int)
        if idx.size == 0:
            continue
        rng.shuffle(idx)
        # cumulative rounding so the fractions hold over the whole data set
        n_done = int((assigned >= 0).sum())
        cum = np.round(np.cumsum(f) * (n_done + idx.size)).astype(int) - np.round(np.cumsum(f) * n_done).astype(int)
        n_train = max(1, int(cum[0]))
        n_valid = max(0, min(int(cum[1] - cum[0]), idx.size - n_train))
        assigned[idx[:n_train]] = 0
        assigned[idx[n_train:n_train + n_valid]] = 1
        assigned[idx[n_train + n_valid:]] = 2
    assigned[assigned < 0] = 0  # crystals with no elements (not possible for real data)
    return tuple(np.flatnonzero(assigned == k) for k in range(3))  # type: ignore[return-value]


def dos_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE and two R^2 of predicted DoS (M, n_bins) against the truth.

    * ``mse`` = mean over crystals and bins of (y - y_hat)^2;
    * ``r2_global`` = 1 - SS_res / sum (y - ybar)^2 with ONE mean ybar over all crystals and bins;
    * ``r2_per_bin`` = 1 - SS_res / sum (y - ybar_b)^2 with a separate mean ybar_b per
      frequency bin b (a stricter baseline: the average DoS shape itself scores 0).
    """
    y, yh = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    if y.shape != yh.shape or y.ndim != 2:
        raise ValueError(f"y_true and y_pred must have the same (M, n_bins) shape, got {y.shape} and {yh.shape}")
    ss_res = float(((y - yh) ** 2).sum())
    return {
        "mse": ss_res / y.size,
        "r2_global": 1.0 - ss_res / float(((y - y.mean()) ** 2).sum()),
        "r2_per_bin": 1.0 - ss_res / float(((y - y.mean(axis=0)) ** 2).sum()),
    }


def _check_dos(freq: np.ndarray, dos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    freq, dos = np.asarray(freq, dtype=float), np.atleast_2d(np.asarray(dos, dtype=float))
    if freq.ndim != 1 or dos.shape[-1] != freq.size:
        raise ValueError(f"the DoS has {dos.shape[-1]} bins but the frequency grid has {freq.size} points")
    return freq, dos


def heat_capacity(freq: np.ndarray, dos: np.ndarray, T: float = 300.0) -> np.ndarray:
    """Harmonic heat capacity at constant volume, in k_B per atom, from a DoS g(nu).

    C_v(T) = 3 k_B sum_nu g(nu) E(x) / sum_nu g(nu),  E(x) = x^2 e^x / (e^x - 1)^2,
    x = h c nu / (k_B T). The DoS is normalised to 3 modes per atom, so any scale of g
    (e.g. max-normalised) gives the same C_v; E(0) = 1 (the classical limit, 3 k_B).

    Args:
        freq: (n_bins,) frequencies in cm^-1 (>= 0). dos: (n_bins,) or (M, n_bins).
        T: temperature in K.
    Returns:
        (M,) heat capacities in k_B per atom (multiply by R = 8.314 J/(mol K) for per mole of atoms).
    """
    freq, dos = _check_dos(freq, dos)
    x = CM1_TO_K * freq / float(T)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        einstein = np.where(x > 1e-8, x**2 * np.exp(x) / np.expm1(x) ** 2, 1.0)
    einstein = np.nan_to_num(einstein, nan=0.0)  # x -> inf: E -> 0
    weight = dos.sum(axis=1)
    return 3.0 * (dos * einstein).sum(axis=1) / np.maximum(weight, 1e-12)


def average_frequency(freq: np.ndarray, dos: np.ndarray) -> np.ndarray:
    """Mean phonon frequency sum nu g(nu) / sum g(nu), in cm^-1: (M,) for a (M, n_bins) DoS."""
    freq, dos = _check_dos(freq, dos)
    return (dos * freq).sum(axis=1) / np.maximum(dos.sum(axis=1), 1e-12)


def cell_variants(atoms, supercell: Sequence[Sequence[int]] = ((2, 0, 0), (0, 2, 0), (1, 0, 1))) -> dict:
    """The same crystal in several cells: ``primitive`` and ``conventional`` standard cells
    (spglib via pymatgen, possibly in another orientation) and a ``supercell`` of the input
    cell (integer matrix, default a sheared 4x cell). Returns ``{name: ase.Atoms}``."""
    from ase.build import make_supercell
    from pymatgen.io.ase import AseAtomsAdaptor
    from pymatgen.symmetry.analyzer import SpacegroupAnalyzer

    with warnings.catch_warnings():
        # spglib 2.5+ announces a change of its error handling each call (a DeprecationWarning
        # aimed at pymatgen, which calls it); the results are unaffected.
        warnings.filterwarnings("ignore", message="Set OLD_ERROR_HANDLING", category=DeprecationWarning)
        sga = SpacegroupAnalyzer(AseAtomsAdaptor.get_structure(atoms), symprec=1e-3)
        primitive = sga.get_primitive_standard_structure()
        conventional = sga.get_conventional_standard_structure()
    return {
        "input": atoms.copy(),
        "primitive": AseAtomsAdaptor.get_atoms(primitive),
        "conventional": AseAtomsAdaptor.get_atoms(conventional),
        "supercell": make_supercell(atoms, np.asarray(supercell)),
    }


THZ_TO_CM1 = 33.35641  # 1 THz in cm^-1


def potential_phonon_dos(atoms, calculator, freq: np.ndarray, supercell_length: float = 8.0,
                         mesh_length: float = 20.0, sigma: float = 10.0, displacement: float = 0.01) -> np.ndarray:
    """Phonon DoS of a crystal from the Hessian of an interatomic potential (phonopy).

    Finite displacements (``displacement`` Å) in a supercell at least ``supercell_length`` Å
    along each cell vector give the force constants; their phonon frequencies on a q-mesh
    (``mesh_length`` Å, phonopy's automatic mesh) are broadened by Gaussians of width
    ``sigma`` cm^-1 onto the grid ``freq`` (cm^-1) and max-normalised, like the DFPT data.
    Imaginary modes (reported by phonopy as negative frequencies) stay below 0 cm^-1 and
    only touch the first bins through their Gaussian tails.

    Needs the optional package ``phonopy``. Returns the DoS on ``freq`` (n_bins,).
    """
    from ase import Atoms
    from phonopy import Phonopy
    from phonopy.structure.atoms import PhonopyAtoms

    cell = np.asarray(atoms.get_cell())
    n_rep = np.maximum(1, np.ceil(supercell_length / np.linalg.norm(cell, axis=1))).astype(int)
    unit = PhonopyAtoms(symbols=atoms.get_chemical_symbols(), cell=cell,
                        scaled_positions=atoms.get_scaled_positions())
    phonon = Phonopy(unit, supercell_matrix=np.diag(n_rep), primitive_matrix="P")
    phonon.generate_displacements(distance=displacement)
    forces = []
    for sc in phonon.supercells_with_displacements:
        displaced = Atoms(sc.symbols, cell=sc.cell, scaled_positions=sc.scaled_positions, pbc=True)
        displaced.calc = calculator
        forces.append(displaced.get_forces())
    phonon.forces = np.array(forces)
    phonon.produce_force_constants()
    phonon.run_mesh(mesh_length)
    nu = np.asarray(phonon.mesh.frequencies) * THZ_TO_CM1  # (n_q, 3N) cm^-1
    w = np.asarray(phonon.mesh.weights, dtype=float)[:, None] * np.ones_like(nu)
    grid = np.asarray(freq, dtype=float)
    g = (w.ravel()[None, :] * np.exp(-0.5 * ((grid[:, None] - nu.ravel()[None, :]) / sigma) ** 2)).sum(1)
    return g / max(g.max(), 1e-12)


# The settings notebook 06 (full mode) and benchmarks/phonon_dos.py use.
MODEL_HPARAMS = {"r_max": 5.0, "l_max": 1, "mul": 64, "mul_vec": 16, "n_layers": 3}
TRAIN_HPARAMS = {"batch_size": 16, "lr": 5e-3, "weight_decay": 0.05, "schedule": "cosine",
                 "epochs": 50, "max_seconds": 540.0}


def mean_num_neighbors(graphs: Sequence[Data]) -> float:
    """Average number of neighbours per atom over a list of graphs (normalises the messages)."""
    edges = sum(int(g.edge_index.shape[1]) for g in graphs)
    nodes = sum(int(g.num_nodes) for g in graphs)
    return edges / max(nodes, 1)


def dos_loss(model: nn.Module, batch: Data) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean squared error between predicted and true DoS over all bins (the training loss)."""
    pred = model(batch)
    loss = ((pred - batch.y) ** 2).mean()
    return loss, {"mae": float((pred - batch.y).detach().abs().mean())}
