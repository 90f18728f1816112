"""A NequIP-style equivariant interatomic potential, its ASE calculator and its data.

The model (:class:`EquivariantPotential`) follows the recipe of NequIP (Batzner et al.,
Nat. Commun. 13, 2453, 2022), written so that each step can be read next to its equation:

1. **species embedding**: a one-hot vector of the atom's species -> ``mul x 0e`` features;
2. **edges**: ``edge_vec = pos[j] - pos[i]`` for neighbours within ``r_max`` (Å), their spherical
   harmonics ``Y^l(edge_vec / |edge_vec|)`` for ``l <= l_max`` and a radial embedding: a Bessel
   basis times a smooth polynomial cutoff that goes to zero, with its derivatives, at ``r_max``;
3. **interaction blocks**, each: a linear mix, a tensor-product convolution whose weights come from
   a radial MLP of the edge length, a sum over neighbours (``index_add_``, no compiled extension),
   a second linear mix, a self-connection that depends on the species, and a gated nonlinearity;
4. **readout**: a per-atom energy ``E_i = scale * out_i + E_ref[species_i]``, summed over atoms;
5. **forces** ``F = -dE/dx`` by automatic differentiation: they are conservative by construction.

With ``l_max = 0`` the same code uses only distances (invariant features): the comparison model of
notebook 04's learning curves.

Also here: :class:`EquivariantCalculator` (an ASE calculator built on the model),
:func:`load_frames` / :func:`frames_to_data` (npz parts of the ethanol data set -> ``Data`` lists),
:func:`split_indices` (train/valid/test), :func:`fit_energy_reference` and
:func:`energy_force_loss` (the loss for :func:`tutorial_utils.training.train`).

Units everywhere: positions Å, energies eV, forces eV/Å.
"""

from __future__ import annotations

import json
import math
import warnings
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from ase.calculators.calculator import Calculator, all_changes
from e3nn import o3
from e3nn.nn import FullyConnectedNet, Gate
from torch import nn
from torch_geometric.data import Data

from .graphs import atoms_to_data, edge_vectors

__all__ = [
    "BesselBasis",
    "EquivariantCalculator",
    "EquivariantPotential",
    "FrameSet",
    "InteractionBlock",
    "MODEL_HPARAMS",
    "PolynomialCutoff",
    "TRAIN_HPARAMS",
    "average_num_neighbors",
    "build_potential",
    "energy_force_loss",
    "errors",
    "fit_energy_reference",
    "frames_for_error",
    "frames_to_data",
    "load_frames",
    "predict",
    "split_indices",
    "train_potential",
]


# ----------------------------------------------------------------------------------------
# Radial embedding: Bessel basis x smooth cutoff
# ----------------------------------------------------------------------------------------


class BesselBasis(nn.Module):
    r"""``num_basis`` Bessel functions of the edge length:
    :math:`b_n(r) = \sqrt{2 / r_{max}}\, \sin(n \pi r / r_{max}) / r`, ``n = 1 .. num_basis``.

    The frequencies ``n pi / r_max`` start there and are trained (as in NequIP).
    Input ``r`` (E,) in Å; output (E, num_basis).
    """

    def __init__(self, r_max: float, num_basis: int = 8, trainable: bool = True) -> None:
        super().__init__()
        self.r_max = float(r_max)
        freqs = math.pi / self.r_max * torch.arange(1, num_basis + 1, dtype=torch.get_default_dtype())
        self.freqs = nn.Parameter(freqs, requires_grad=trainable)
        self.prefactor = math.sqrt(2.0 / self.r_max)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        r = r.unsqueeze(-1)
        return self.prefactor * torch.sin(self.freqs * r) / r


class PolynomialCutoff(nn.Module):
    r"""Smooth cutoff :math:`f(u) = 1 - \frac{(p+1)(p+2)}{2} u^p + p(p+2) u^{p+1}
    - \frac{p(p+1)}{2} u^{p+2}` with ``u = r / r_max`` (zero for ``u >= 1``).

    ``f(1) = f'(1) = f''(1) = 0``: an atom crossing the cutoff sphere changes the energy and the
    forces continuously, which keeps molecular dynamics energy-conserving. Input (E,) Å, output (E,).
    """

    def __init__(self, r_max: float, p: int = 6) -> None:
        super().__init__()
        if p < 2:
            raise ValueError(f"the cutoff exponent p must be at least 2 for smooth forces, got {p}")
        self.r_max = float(r_max)
        self.p = int(p)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        p, u = self.p, r / self.r_max
        f = (1.0 - 0.5 * (p + 1) * (p + 2) * u**p + p * (p + 2) * u ** (p + 1)
             - 0.5 * p * (p + 1) * u ** (p + 2))
        return f * (u < 1.0)


# ----------------------------------------------------------------------------------------
# One interaction block
# ----------------------------------------------------------------------------------------


def hidden_irreps(mul: int, l_max: int, parity: bool = False) -> o3.Irreps:
    """Features carried between blocks: ``mul`` copies of every ``l <= l_max``.

    ``parity=False``: only the parity a polar vector field produces, ``(-1)^l``
    (``0e + 1o + 2e``); ``parity=True``: both parities (``0e + 0o + 1o + 1e + ...``).
    """
    if l_max < 0:
        raise ValueError(f"l_max must be 0 or more, got {l_max}")
    irreps = []
    for l in range(l_max + 1):
        for p in ((1, -1) if parity else ((-1) ** l,)):
            irreps.append((mul, (l, p)))
    return o3.Irreps(irreps).sort().irreps.simplify()


def gate_for(irreps_hidden: o3.Irreps) -> Gate:
    """A gated nonlinearity producing ``irreps_hidden``: scalars pass through SiLU (even) or tanh
    (odd, keeping them odd); every ``l > 0`` irrep is multiplied by sigmoid(one extra even scalar)."""
    scalars = o3.Irreps([(mul, ir) for mul, ir in irreps_hidden if ir.l == 0])
    gated = o3.Irreps([(mul, ir) for mul, ir in irreps_hidden if ir.l > 0])
    acts = [torch.nn.functional.silu if ir.p == 1 else torch.tanh for _, ir in scalars]
    gates = o3.Irreps([(mul, "0e") for mul, _ in gated])
    return Gate(scalars, acts, gates, [torch.sigmoid] * len(gates), gated)


def convolution_paths(irreps_in: o3.Irreps, irreps_sh: o3.Irreps, irreps_wanted: o3.Irreps):
    """Tensor-product paths ``irreps_in x irreps_sh -> ir_out`` kept when ``ir_out`` appears in
    ``irreps_wanted``; one output block per path (``uvu``: each input channel keeps its own
    channel, weighted per edge). Returns (irreps_out sorted, instructions)."""
    wanted = {ir for _, ir in irreps_wanted}
    irreps_out, instructions = [], []
    for i_in, (mul, ir_in) in enumerate(irreps_in):
        for i_sh, (_, ir_sh) in enumerate(irreps_sh):
            for ir_out in ir_in * ir_sh:
                if ir_out in wanted:
                    instructions.append((i_in, i_sh, len(irreps_out), "uvu", True))
                    irreps_out.append((mul, ir_out))
    irreps_out = o3.Irreps(irreps_out)
    irreps_out, perm, _ = irreps_out.sort()
    instructions = [(a, b, perm[c], mode, train) for a, b, c, mode, train in instructions]
    return irreps_out, instructions


class InteractionBlock(nn.Module):
    r"""One NequIP-style interaction:

    .. math::
        h_i' = \mathrm{Gate}\Big(W_2 \frac{1}{\sqrt{\bar n}} \sum_{j \in N(i)}
        R(|r_{ij}|) \; (W_1 h_j) \otimes Y(\hat r_{ij}) \;+\; \mathrm{SC}(h_i, z_i)\Big)

    ``W_1, W_2`` are equivariant linear maps (``o3.Linear``), ``R`` a radial MLP giving the
    per-edge tensor-product weights, ``SC`` the self-connection (a tensor product of the
    features with the species one-hot), ``n`` the average number of neighbours.
    """

    def __init__(self, irreps_in: o3.Irreps, irreps_out: o3.Irreps, irreps_sh: o3.Irreps, num_species: int,
                 num_basis: int, radial_hidden: int, avg_num_neighbors: float) -> None:
        super().__init__()
        self.irreps_in, self.irreps_out = o3.Irreps(irreps_in), o3.Irreps(irreps_out)
        irreps_species = o3.Irreps(f"{num_species}x0e")
        self.gate = gate_for(self.irreps_out)
        irreps_pre = self.gate.irreps_in  # what the gate eats: scalars, gate scalars, gated irreps
        self.linear_1 = o3.Linear(self.irreps_in, self.irreps_in)
        irreps_mid, instructions = convolution_paths(self.irreps_in, irreps_sh, irreps_pre)
        self.tp = o3.TensorProduct(self.irreps_in, irreps_sh, irreps_mid, instructions,
                                   shared_weights=False, internal_weights=False)
        # no bias in the radial MLP: zero radial input (at the cutoff) gives zero weights
        self.radial_mlp = FullyConnectedNet([num_basis, radial_hidden, radial_hidden, self.tp.weight_numel],
                                            torch.nn.functional.silu)
        self.linear_2 = o3.Linear(irreps_mid, irreps_pre)
        self.self_connection = o3.FullyConnectedTensorProduct(self.irreps_in, irreps_species, irreps_pre)
        # a buffer, so that a saved state_dict carries the normalisation it was trained with
        self.register_buffer("avg_num_neighbors", torch.tensor(float(avg_num_neighbors)))

    def forward(self, h: torch.Tensor, species_onehot: torch.Tensor, edge_index: torch.Tensor,
                edge_sh: torch.Tensor, edge_radial: torch.Tensor) -> torch.Tensor:
        """h (N, irreps_in.dim), species_onehot (N, S), edge_index (2, E) [j, i],
        edge_sh (E, irreps_sh.dim), edge_radial (E, num_basis) -> (N, irreps_out.dim)."""
        j, i = edge_index
        weights = self.radial_mlp(edge_radial)  # (E, tp.weight_numel)
        messages = self.tp(self.linear_1(h)[j], edge_sh, weights)  # (E, irreps_mid.dim)
        summed = messages.new_zeros(h.shape[0], messages.shape[1]).index_add_(0, i, messages)
        out = self.linear_2(summed / self.avg_num_neighbors.sqrt())
        out = out + self.self_connection(h, species_onehot)
        return self.gate(out)


# ----------------------------------------------------------------------------------------
# The potential
# ----------------------------------------------------------------------------------------


class EquivariantPotential(nn.Module):
    """NequIP-style potential: ``Data`` (pos, z, edge_index) -> total energy per structure (eV).

    Args:
        species: atomic numbers the model knows, e.g. ``[1, 6, 8]`` for ethanol.
        r_max: cutoff radius (Å); graphs must be built with the same value.
        l_max: highest spherical-harmonic degree of the edge filters and features
            (0: invariant model that sees distances only).
        num_layers: number of interaction blocks.
        mul: channels per irrep in the hidden features.
        num_basis: Bessel functions in the radial embedding.
        radial_hidden: width of the radial MLP.
        cutoff_p: exponent of the polynomial cutoff.
        parity: carry both parities of every l (NequIP's default) or only ``(-1)^l``.
        avg_num_neighbors: normalises the neighbour sum (set it from the training data).

    The per-species reference energies ``atomic_energies`` (eV) and the ``scale`` of the
    network's output (eV; the RMS force component times 1 Å) are buffers, set from data by
    :func:`fit_energy_reference`; the reference part of the energy is added in float64 so that
    a total of thousands of eV keeps its meV digits when the network runs in float32.
    """

    def __init__(self, species: Sequence[int], r_max: float = 4.0, l_max: int = 1, num_layers: int = 3,
                 mul: int = 16, num_basis: int = 8, radial_hidden: int = 32, cutoff_p: int = 6,
                 parity: bool = False, avg_num_neighbors: float = 8.0) -> None:
        super().__init__()
        species = sorted({int(z) for z in species})
        if not species or min(species) < 1 or max(species) > 118:
            raise ValueError(f"species must be atomic numbers between 1 and 118, got {species}")
        if r_max <= 0 or num_layers < 1 or mul < 1:
            raise ValueError(f"need r_max > 0, num_layers >= 1 and mul >= 1; got {r_max}, {num_layers}, {mul}")
        self.species = species
        self.r_max, self.l_max, self.num_layers = float(r_max), int(l_max), int(num_layers)
        index = torch.full((119,), -1, dtype=torch.long)
        index[torch.tensor(species)] = torch.arange(len(species))
        self.register_buffer("z_to_index", index, persistent=False)
        self.register_buffer("atomic_energies", torch.zeros(len(species), dtype=torch.float64))
        self.register_buffer("scale", torch.ones((), dtype=torch.float64))

        self.irreps_sh = o3.Irreps.spherical_harmonics(self.l_max)
        self.irreps_hidden = hidden_irreps(mul, self.l_max, parity)
        self.radial_basis = BesselBasis(r_max, num_basis)
        self.cutoff = PolynomialCutoff(r_max, cutoff_p)
        self.embedding = o3.Linear(f"{len(species)}x0e", f"{mul}x0e")
        blocks, irreps = [], o3.Irreps(f"{mul}x0e")
        for _ in range(num_layers):
            blocks.append(InteractionBlock(irreps, self.irreps_hidden, self.irreps_sh, len(species),
                                           num_basis, radial_hidden, avg_num_neighbors))
            irreps = blocks[-1].irreps_out
        self.blocks = nn.ModuleList(blocks)
        self.readout = o3.Linear(irreps, "1x0e")  # keeps only the 0e channels

    def species_index(self, z: torch.Tensor) -> torch.Tensor:
        """Atomic numbers (N,) -> row of the one-hot (N,), with a clear error for unknown ones."""
        if z.numel() and (int(z.min()) < 1 or int(z.max()) > 118):
            raise ValueError(f"atomic numbers must be between 1 and 118, got {sorted(set(z.tolist()))}")
        idx = self.z_to_index[z]
        if (idx < 0).any():
            unknown = sorted(set(z[idx < 0].tolist()))
            raise ValueError(f"the model was built for species {self.species} but the structure has "
                             f"{unknown}; build the model with every species of the data set")
        return idx

    def atomic_energies_of(self, data: Data) -> torch.Tensor:
        """Per-atom energies (N,) in eV, network part only (without the reference energies)."""
        graph_r_max = getattr(data, "r_max", None)
        if graph_r_max is not None and float(graph_r_max.min()) < self.r_max - 1e-6:
            raise ValueError(f"the graph was built with r_max = {float(graph_r_max.min())} Å but the model "
                             f"needs every neighbour within {self.r_max} Å; rebuild it with r_max={self.r_max}")
        onehot = nn.functional.one_hot(self.species_index(data.z), len(self.species))
        onehot = onehot.to(data.pos.dtype)
        edge_vec = edge_vectors(data)  # (E, 3) Å, differentiable w.r.t. pos
        edge_len = edge_vec.norm(dim=-1)
        edge_sh = o3.spherical_harmonics(self.irreps_sh, edge_vec, normalize=True, normalization="component")
        edge_radial = self.radial_basis(edge_len) * self.cutoff(edge_len).unsqueeze(-1)
        h = self.embedding(onehot)
        for block in self.blocks:
            h = block(h, onehot, data.edge_index, edge_sh, edge_radial)
        return self.readout(h).squeeze(-1) * self.scale.to(h.dtype)

    def forward(self, data: Data) -> torch.Tensor:
        """Total energy (B,) in eV, float64 (B = number of structures in the batch)."""
        batch = getattr(data, "batch", None)
        if batch is None:
            batch = torch.zeros(data.pos.shape[0], dtype=torch.long, device=data.pos.device)
        num_graphs = int(batch.max()) + 1 if batch.numel() else 1
        e_atom = self.atomic_energies_of(data).to(torch.float64)
        e_atom = e_atom + self.atomic_energies[self.species_index(data.z)]
        return e_atom.new_zeros(num_graphs).index_add_(0, batch, e_atom)

    def energy_forces(self, data: Data, create_graph: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """Energies (B,) eV and forces ``-dE/dpos`` (N, 3) eV/Å.

        ``create_graph=True`` keeps the graph of the forces, for training on them.
        """
        if not data.pos.requires_grad:
            data = data.clone()
            data.pos = data.pos.detach().requires_grad_(True)
        with torch.enable_grad():
            energy = self(data)
            (grad,) = torch.autograd.grad(energy.sum(), data.pos, create_graph=create_graph)
        return energy, -grad


# ----------------------------------------------------------------------------------------
# Energy reference and the loss
# ----------------------------------------------------------------------------------------


def fit_energy_reference(model: EquivariantPotential, data_list: Sequence[Data]) -> dict[str, float]:
    """Set ``model.atomic_energies`` by least squares (E_total ~ sum of per-species energies) and
    ``model.scale`` to the RMS force component (eV/Å x 1 Å: the network then predicts numbers of
    order one). Returns the fitted values and the RMS energy residual (eV).

    The fit starts from the mean energy per atom (the same for every species) and adds the
    least-squares correction of smallest norm. For a data set of one molecule every structure
    has the same composition, so only the sum is determined and every species keeps the mean
    energy per atom; with varied compositions the species separate.
    """
    if not data_list:
        raise ValueError("fit_energy_reference needs at least one structure")
    counts = np.zeros((len(data_list), len(model.species)))
    energies = np.zeros(len(data_list))
    forces = []
    for k, d in enumerate(data_list):
        idx = model.species_index(d.z).cpu().numpy()
        counts[k] = np.bincount(idx, minlength=len(model.species))
        energies[k] = float(d.energy.reshape(-1)[0])
        forces.append(d.forces.detach().cpu().double().reshape(-1).numpy())
    e_per_atom = energies.sum() / counts.sum()
    correction, *_ = np.linalg.lstsq(counts, energies - counts.sum(1) * e_per_atom, rcond=None)
    ref = e_per_atom + correction
    residual = energies - counts @ ref
    f_rms = float(np.sqrt(np.mean(np.concatenate(forces) ** 2)))
    with torch.no_grad():
        model.atomic_energies.copy_(torch.as_tensor(ref, dtype=torch.float64))
        model.scale.fill_(f_rms if f_rms > 0 else 1.0)
    return {"scale": f_rms, "energy_rms_after_reference": float(np.sqrt(np.mean(residual**2))),
            **{f"E_ref[Z={z}]": float(e) for z, e in zip(model.species, ref, strict=True)}}


def average_num_neighbors(data_list: Sequence[Data]) -> float:
    """Mean number of neighbours per atom (edges / atoms) over a list of graphs: the
    ``avg_num_neighbors`` that keeps the neighbour sum of order one."""
    edges = sum(int(d.edge_index.shape[1]) for d in data_list)
    atoms = sum(int(d.num_nodes) for d in data_list)
    if atoms == 0:
        raise ValueError("average_num_neighbors needs at least one structure with atoms")
    return edges / atoms


def energy_force_loss(energy_weight: float = 1.0, force_weight: float = 10.0
                      ) -> Callable[[nn.Module, Data], tuple[torch.Tensor, dict[str, float]]]:
    """Loss for :func:`tutorial_utils.training.train` (use it with ``eval_grad=True``):

    ``energy_weight * mean((dE / N_atoms)^2) + force_weight * mean(dF^2)`` (eV^2/atom^2, eV^2/Å^2),
    with metrics ``energy_mae_meV_per_atom`` and ``force_mae_meV_per_A``.
    """

    def loss_fn(model: nn.Module, batch: Data) -> tuple[torch.Tensor, dict[str, float]]:
        energy, forces = model.energy_forces(batch, create_graph=model.training)
        n_atoms = torch.bincount(batch.batch, minlength=energy.shape[0]) if getattr(batch, "batch", None) \
            is not None else torch.tensor([batch.pos.shape[0]], device=energy.device)
        de = (energy - batch.energy.reshape(-1).to(energy.dtype)) / n_atoms.to(energy.dtype)
        df = forces - batch.forces.to(forces.dtype)
        loss = energy_weight * (de**2).mean() + force_weight * (df**2).mean()
        metrics = {"energy_mae_meV_per_atom": 1000 * float(de.abs().mean().detach()),
                   "force_mae_meV_per_A": 1000 * float(df.abs().mean().detach())}
        return loss, metrics

    return loss_fn


# ----------------------------------------------------------------------------------------
# ASE calculator
# ----------------------------------------------------------------------------------------


class EquivariantCalculator(Calculator):
    """ASE calculator: energy (eV) and forces (eV/Å) from an :class:`EquivariantPotential`.

    The radius graph is rebuilt at every call (``r_max`` of the model), so atoms may enter
    and leave each other's cutoff during a molecular dynamics run.
    """

    implemented_properties = ["energy", "free_energy", "forces"]

    def __init__(self, model: EquivariantPotential, device: str | torch.device = "cpu", **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model.to(device).eval()
        self.device = torch.device(device)
        self.dtype = next(p.dtype for p in model.parameters() if p.is_floating_point())

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        data = atoms_to_data(self.atoms, r_max=self.model.r_max)
        data.pos = data.pos.to(self.dtype)
        data.cell = data.cell.to(self.dtype)
        data.edge_shift = data.edge_shift.to(self.dtype)
        energy, forces = self.model.energy_forces(data.to(self.device))
        e = float(energy.detach().sum())
        self.results = {"energy": e, "free_energy": e,
                        "forces": forces.detach().cpu().double().numpy()}


# ----------------------------------------------------------------------------------------
# Data: npz parts -> frames -> Data lists, and splits
# ----------------------------------------------------------------------------------------



@dataclass
class FrameSet:
    """Frames of one molecule, as read from npz files by :func:`load_frames`."""

    positions: np.ndarray  # (F, N, 3) Å
    energy: np.ndarray  # (F,) eV, total energies
    forces: np.ndarray  # (F, N, 3) eV/Å
    numbers: np.ndarray  # (N,) atomic numbers, the same for every frame
    source: np.ndarray  # (F,) index of the file each frame came from
    metadata: list[dict] = field(default_factory=list)  # one dict per file

    def __len__(self) -> int:
        return int(self.energy.shape[0])

    def subset(self, indices: Sequence[int] | np.ndarray) -> FrameSet:
        """The frames ``indices`` (a copy)."""
        idx = np.asarray(indices, dtype=np.int64)
        return FrameSet(self.positions[idx], self.energy[idx], self.forces[idx], self.numbers.copy(),
                        self.source[idx], list(self.metadata))


def _read_npz(path: Path, required: Sequence[str]) -> tuple[dict[str, np.ndarray], dict]:
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file; make the data with data/ethanol/generate.py "
                                "or fetch it with tutorial_utils.data.fetch") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise ValueError(f"{path} is not a readable npz file ({type(exc).__name__}: {exc}); it is "
                         "truncated or corrupt: delete it and re-make or re-fetch it") from None
    missing = [k for k in required if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks the key(s) {missing}: a frame file needs {list(required)} "
                         f"(found {sorted(arrays)}); is it a file of this data set?")
    meta = {}
    if "metadata" in arrays:
        try:
            meta = json.loads(str(arrays.pop("metadata")))
        except json.JSONDecodeError:
            raise ValueError(f"{path}: the metadata entry is not valid JSON; the file is corrupt") from None
    units = meta.get("units", {})
    for key, want in (("energy", "eV"), ("forces", "eV/Angstrom"), ("positions", "Angstrom")):
        if key in units and units[key] != want:
            raise ValueError(f"{path}: {key} are in {units[key]}, expected {want}")
    return arrays, meta


def load_frames(paths: str | Path | Sequence[str | Path], drop_unconverged: bool = True,
                energy_key: str = "energy", forces_key: str = "forces") -> FrameSet:
    """Read one or more npz files of frames (parts or packed sets) and concatenate them.

    ``energy_key``/``forces_key`` choose the labels: ``"energy"``/``"forces"`` (DFT) or
    ``"energy_xtb"``/``"forces_xtb"`` (the GFN2-xTB labels stored beside them).

    Checks shapes, atomic numbers (the same molecule in every file) and finite values, and
    raises ``ValueError`` naming the file and what is wrong. Frames whose DFT did not converge
    (``converged`` False) are dropped with a warning.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("load_frames got no files; pass a path or a list of paths to npz files")
    cols: dict[str, list[np.ndarray]] = {k: [] for k in ("positions", "energy", "forces", "source")}
    numbers, metas = None, []
    for k, path in enumerate(paths):
        required = ("positions", energy_key, forces_key, "numbers")
        a, meta = _read_npz(path, required)
        pos, e, f, z = (np.asarray(a[key]) for key in required)
        n_frames = e.shape[0] if e.ndim == 1 else -1
        if e.ndim != 1 or pos.ndim != 3 or pos.shape[0] != n_frames or pos.shape[2] != 3 \
                or f.shape != pos.shape or z.shape != (pos.shape[1],):
            raise ValueError(f"{path}: inconsistent shapes positions {pos.shape}, energy {e.shape}, "
                             f"forces {f.shape}, numbers {z.shape}; expected (F, N, 3), (F,), (F, N, 3), (N,)")
        if numbers is None:
            numbers = z.astype(np.int64)
        elif not np.array_equal(numbers, z):
            raise ValueError(f"{path}: atomic numbers {z.tolist()} differ from the first file's "
                             f"{numbers.tolist()}; load one molecule at a time")
        keep = np.ones(n_frames, bool)
        if drop_unconverged and "converged" in a:
            keep = np.asarray(a["converged"], bool)
            if not keep.all():
                warnings.warn(f"{path}: dropping {int((~keep).sum())} frame(s) whose DFT did not converge",
                              stacklevel=2)
        bad = ~(np.isfinite(pos).all((1, 2)) & np.isfinite(e) & np.isfinite(f).all((1, 2)))
        if (bad & keep).any():
            raise ValueError(f"{path}: frame {int(np.flatnonzero(bad & keep)[0])} has non-finite values")
        cols["positions"].append(pos[keep].astype(np.float64))
        cols["energy"].append(e[keep].astype(np.float64))
        cols["forces"].append(f[keep].astype(np.float64))
        cols["source"].append(np.full(int(keep.sum()), k))
        metas.append({"file": path.name, **meta})
    return FrameSet(numbers=numbers, metadata=metas, **{k: np.concatenate(v) for k, v in cols.items()})


def frames_to_data(frames: FrameSet, r_max: float, indices: Sequence[int] | None = None) -> list[Data]:
    """One ``Data`` per frame (graph within ``r_max`` Å) with ``energy`` (1,) eV (float64)
    and ``forces`` (N, 3) eV/Å in torch's default dtype."""
    from ase import Atoms

    dtype = torch.get_default_dtype()
    indices = range(len(frames)) if indices is None else indices
    out = []
    for k in indices:
        atoms = Atoms(numbers=frames.numbers, positions=frames.positions[k])
        out.append(atoms_to_data(
            atoms, r_max,
            energy=torch.tensor([frames.energy[k]], dtype=torch.float64),
            forces=torch.as_tensor(frames.forces[k]).to(dtype),
        ))
    return out


def split_indices(n: int, n_train: int, n_valid: int, n_test: int | None = None, seed: int = 0
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random disjoint train / valid / test indices of ``n`` frames (``n_test=None``: the rest).

    The same ``seed`` always gives the same split; a smaller ``n_train`` with the same seed
    gives a subset of a larger one's training frames (nested learning curves).
    """
    n_test = n - n_train - n_valid if n_test is None else n_test
    if min(n_train, n_valid, n_test) < 0 or n_train + n_valid + n_test > n:
        raise ValueError(f"cannot split {n} frames into {n_train} train + {n_valid} valid + {n_test} test")
    perm = np.random.default_rng(seed).permutation(n)
    valid = perm[:n_valid]
    test = perm[n_valid:n_valid + n_test]
    train = perm[n_valid + n_test:n_valid + n_test + n_train]
    return train, valid, test




# ----------------------------------------------------------------------------------------
# Build, train and evaluate: the steps notebook 04 and its scripts share
# ----------------------------------------------------------------------------------------

#: The architecture of notebook 04 (and of the shipped checkpoint), r_max in Å.
MODEL_HPARAMS: dict = dict(r_max=4.0, l_max=1, num_layers=3, mul=16, num_basis=8, radial_hidden=32,
                           cutoff_p=6, parity=False)
#: Optimisation: AdamW, batches of ``batch_size`` frames, an "epoch" of ``frames_per_epoch``
#: frames drawn with replacement (so runs on 25 or 900 frames take the same number of steps).
#: ``energy_weight`` 30 (per-atom energies in eV) against ``force_weight`` 10: with 1 the
#: energies of 100-frame runs kept a constant offset of about 24 meV/atom at the same force error.
TRAIN_HPARAMS: dict = dict(lr=5e-3, batch_size=5, frames_per_epoch=250, energy_weight=30.0,
                           force_weight=10.0)


def build_potential(species: Sequence[int], train_data: Sequence[Data], seed: int = 0,
                    **hparams) -> EquivariantPotential:
    """A fresh :class:`EquivariantPotential` (``MODEL_HPARAMS`` updated by ``hparams``) with
    its neighbour normalisation, reference energies and scale set from ``train_data``."""
    unknown = set(hparams) - set(MODEL_HPARAMS)
    if unknown:
        raise TypeError(f"unknown hyperparameter(s) {sorted(unknown)}; choose from {sorted(MODEL_HPARAMS)}")
    if not train_data:
        raise ValueError("build_potential needs at least one training structure")
    torch.manual_seed(seed)
    model = EquivariantPotential(species, avg_num_neighbors=average_num_neighbors(train_data),
                                 **{**MODEL_HPARAMS, **hparams})
    fit_energy_reference(model, train_data)
    return model


def train_potential(model: EquivariantPotential, train_data: Sequence[Data], valid_data: Sequence[Data],
                    epochs: int, seed: int = 0, checkpoint: str | Path | None = None,
                    max_seconds: float | None = None, **train_hparams):
    """Train on energies and forces with :func:`tutorial_utils.training.train`; returns its
    ``History``. An epoch is ``frames_per_epoch`` frames drawn with replacement from
    ``train_data`` (``TRAIN_HPARAMS`` updated by ``train_hparams``), so the number of
    gradient steps does not depend on the training-set size."""
    from torch.utils.data import RandomSampler
    from torch_geometric.loader import DataLoader

    from .training import train

    unknown = set(train_hparams) - set(TRAIN_HPARAMS)
    if unknown:
        raise TypeError(f"unknown training setting(s) {sorted(unknown)}; choose from {sorted(TRAIN_HPARAMS)}")
    hp = {**TRAIN_HPARAMS, **train_hparams}
    if not train_data or not valid_data:
        raise ValueError(f"need training and validation frames, got {len(train_data)} and {len(valid_data)}")
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(train_data, replacement=True, num_samples=hp["frames_per_epoch"],
                            generator=generator)
    train_loader = DataLoader(train_data, batch_size=hp["batch_size"], sampler=sampler)
    valid_loader = DataLoader(valid_data, batch_size=50)
    loss_fn = energy_force_loss(hp["energy_weight"], hp["force_weight"])
    return train(model, loss_fn, train_loader, valid_loader, epochs=epochs, lr=hp["lr"], schedule="cosine",
                 seed=seed, eval_grad=True, checkpoint=checkpoint, max_seconds=max_seconds)


def predict(model: EquivariantPotential, data_list: Sequence[Data], batch_size: int = 50
            ) -> tuple[np.ndarray, np.ndarray]:
    """Energies (F,) eV and forces (F, N, 3) eV/Å of frames of one molecule (N atoms each)."""
    from torch_geometric.loader import DataLoader

    model.eval()
    energies, forces = [], []
    for batch in DataLoader(list(data_list), batch_size=batch_size):
        e, f = model.energy_forces(batch)
        energies.append(e.detach().double().numpy())
        forces.append(f.detach().double().numpy())
    n_atoms = int(data_list[0].num_nodes)
    return np.concatenate(energies), np.concatenate(forces).reshape(len(data_list), n_atoms, 3)


def errors(model: EquivariantPotential, data_list: Sequence[Data]) -> dict[str, float]:
    """Mean absolute errors on ``data_list``: energy in meV/atom, force components in meV/Å."""
    e_pred, f_pred = predict(model, data_list)
    e_true = np.array([float(d.energy.reshape(-1)[0]) for d in data_list])
    f_true = np.stack([d.forces.double().numpy() for d in data_list])
    n_atoms = f_true.shape[1]
    return {"energy_mae_meV_per_atom": 1000 * float(np.abs(e_pred - e_true).mean()) / n_atoms,
            "force_mae_meV_per_A": 1000 * float(np.abs(f_pred - f_true).mean())}


def frames_for_error(sizes: Sequence[float], errors_: Sequence[float], target: float) -> tuple[float, bool]:
    """Training-set size at which a learning curve reaches ``target`` error, by linear
    interpolation in log-log coordinates. Returns ``(frames, extrapolated)``: when the curve
    never reaches the target, a power law fitted to its last three points is extended (and
    ``extrapolated`` is True)."""
    n, e = np.log(np.asarray(sizes, float)), np.log(np.asarray(errors_, float))
    if n.size < 2 or n.size != e.size:
        raise ValueError("need at least two (size, error) points of equal length")
    t = math.log(target)
    for k in range(len(n) - 1):
        lo, hi = sorted((e[k], e[k + 1]))
        if lo <= t <= hi and e[k] != e[k + 1]:
            return float(np.exp(n[k] + (t - e[k]) * (n[k + 1] - n[k]) / (e[k + 1] - e[k]))), False
    if t >= e[0]:
        return float(np.exp(n[0])), False  # reached already at the smallest size
    slope, intercept = np.polyfit(n[-3:], e[-3:], 1)
    if slope >= 0:
        return math.inf, True
    return float(np.exp((t - intercept) / slope)), True
