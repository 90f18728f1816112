"""Electron densities expanded in atom-centred Gaussians, in e3nn's conventions.

A density fitted onto an auxiliary basis (for example def2-universal-jfit) is

    rho(r) = sum_A sum_P c_{A,P} phi_P(r - R_A),
    phi_P(r) = sum_k d_k exp(-alpha_k |r|^2) |r|^l Y_lm(r / |r|),

with ``Y_lm`` the real spherical harmonics of e3nn (``normalization="integral"``: orthonormal
on the sphere), exponents ``alpha`` in Bohr^-2 and contraction coefficients ``d`` normalised so
that every ``phi_P`` has unit norm over space (r in Bohr). The coefficients of one atom then
form one e3nn feature vector of irreps such as ``6x0e+4x1o+3x2e+1x3o+1x4e`` (oxygen,
def2-universal-jfit): under a rotation R of the molecule they transform with
``irreps.D_from_matrix(R)``, which is what an equivariant network predicts.

pyscf (libcint) uses the same radial functions and normalisation but its own real harmonics:
``p`` functions in the order (x, y, z), and for l >= 2 the harmonics with z as the polar axis,
ordered m = -l..l. e3nn's harmonics use y as the polar axis: e3nn's ``Y_l(r)`` equals
libcint's at the cyclically permuted point ``(z, x, y)``. So the conversion of one shell is the
orthogonal matrix ``D_l(P)`` of that permutation (a proper rotation), a mixing within the shell
and not a permutation: :func:`pyscf_to_e3nn_matrix`.

Nothing here needs pyscf; :meth:`BasisSet.from_pyscf` (used by ``data/water/generate.py``)
imports it only when called.

Units: positions and grid points in Å, densities in electrons / Å^3 (atomic units inside).
"""

from __future__ import annotations

import dataclasses
import math
import zipfile
from collections.abc import Mapping, Sequence

import numpy as np
import torch
from e3nn import o3

from tutorial_utils.symmetry import default_dtype

BOHR = 0.52917721092  # Å per Bohr, the value pyscf uses (pyscf.data.nist.BOHR)

_SYMBOLS = ("X H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu "
            "Zn Ga Ge As Se Br Kr").split()


def element_symbol(z: int) -> str:
    """Chemical symbol of atomic number ``z`` (``"Z=99"`` beyond krypton)."""
    return _SYMBOLS[z] if 0 < z < len(_SYMBOLS) else f"Z={z}"


# The cyclic permutation r -> (z, x, y): e3nn's Y_l(r) = libcint's Y_l(P r).
_P = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]], dtype=torch.float64)


def pyscf_to_e3nn_matrix(l: int) -> np.ndarray:
    """Orthogonal matrix ``Q_l`` (2l+1, 2l+1) with ``c_e3nn = Q_l @ c_pyscf`` for one shell.

    l = 0: 1; l = 1: the identity (pyscf's p functions are ordered x, y, z like e3nn's);
    l >= 2: e3nn's Wigner matrix of the permutation ``P r = (z, x, y)``. Verified against
    pyscf in ``tests/test_density.py``.
    """
    if l < 0:
        raise ValueError(f"angular momentum must be >= 0, got l={l}")
    if l <= 1:
        return np.eye(2 * l + 1)
    with default_dtype(torch.float64):  # e3nn builds D in the default dtype
        return o3.Irrep(l, (-1) ** l).D_from_matrix(_P).numpy()


# --------------------------------------------------------------------------- basis sets


@dataclasses.dataclass(frozen=True)
class Shell:
    """One contracted shell: angular momentum ``l``, exponents (Bohr^-2) and normalised
    contraction coefficients (so that each of its 2l+1 functions has unit norm)."""

    l: int
    exponents: np.ndarray
    coefficients: np.ndarray


@dataclasses.dataclass(frozen=True)
class ElementBasis:
    """The shells of one element, sorted by ``l`` (the e3nn layout of its coefficients).

    ``pyscf_order[i]`` is the position of shell ``i`` in pyscf's (input) order.
    """

    z: int
    shells: tuple[Shell, ...]
    pyscf_order: tuple[int, ...]

    @property
    def irreps(self) -> o3.Irreps:
        """e3nn irreps of the coefficient vector of one atom, e.g. ``3x0e+1x1o+1x2e``."""
        return o3.Irreps([(1, (s.l, (-1) ** s.l)) for s in self.shells]).simplify()

    @property
    def dim(self) -> int:
        return sum(2 * s.l + 1 for s in self.shells)


@dataclasses.dataclass(frozen=True)
class BasisSet:
    """Auxiliary basis of several elements, keyed by atomic number."""

    name: str
    elements: Mapping[int, ElementBasis]

    # ----------------------------------------------------------------- checks and layout
    def check_numbers(self, numbers: Sequence[int] | np.ndarray | torch.Tensor) -> None:
        """Raise a ``ValueError`` naming every element of ``numbers`` that has no basis."""
        zs = sorted({int(z) for z in np.asarray(numbers).reshape(-1)})
        missing = [z for z in zs if z not in self.elements]
        if missing:
            have = ", ".join(element_symbol(z) for z in sorted(self.elements))
            names = ", ".join(f"{element_symbol(z)} (Z={z})" for z in missing)
            raise ValueError(
                f"no {self.name} basis for element(s) {names}: this basis (and a model built on "
                f"it) covers only {have}. Remove those atoms, or build the basis and train the "
                "model on data that contains them.")

    def irreps(self, z: int) -> o3.Irreps:
        self.check_numbers([z])
        return self.elements[int(z)].irreps

    def dims(self, numbers: Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
        """Number of coefficients of each atom, shape (N,)."""
        self.check_numbers(numbers)
        return np.array([self.elements[int(z)].dim for z in np.asarray(numbers).reshape(-1)], np.int64)

    def offsets(self, numbers: Sequence[int] | np.ndarray | torch.Tensor) -> np.ndarray:
        """Start of each atom's block in the flat coefficient vector, shape (N + 1,)."""
        return np.concatenate([[0], np.cumsum(self.dims(numbers))])

    def split(self, coefficients: np.ndarray | torch.Tensor,
              numbers: Sequence[int] | np.ndarray | torch.Tensor) -> list:
        """Cut a flat coefficient vector (K,) into one block per atom."""
        off = self.offsets(numbers)
        if len(coefficients) != off[-1]:
            raise ValueError(f"{len(coefficients)} coefficients given, but atoms {list(map(int, numbers))} "
                             f"need {off[-1]} in the {self.name} basis")
        return [coefficients[a:b] for a, b in zip(off[:-1], off[1:], strict=True)]

    # ----------------------------------------------------------------- storage
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (for ``np.savez``) from which :meth:`from_arrays` rebuilds the basis."""
        shell_z, shell_l, nprim, order, exps, coefs = [], [], [], [], [], []
        for z in sorted(self.elements):
            eb = self.elements[z]
            for s, o in zip(eb.shells, eb.pyscf_order, strict=True):
                shell_z.append(z)
                shell_l.append(s.l)
                nprim.append(len(s.exponents))
                order.append(o)
                exps.extend(s.exponents.tolist())
                coefs.extend(s.coefficients.tolist())
        return dict(basis_name=np.array(self.name), basis_shell_z=np.array(shell_z, np.int64),
                    basis_shell_l=np.array(shell_l, np.int64), basis_shell_nprim=np.array(nprim, np.int64),
                    basis_shell_pyscf_order=np.array(order, np.int64),
                    basis_exponents=np.array(exps, np.float64), basis_coefficients=np.array(coefs, np.float64))

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> BasisSet:
        keys = ("basis_name", "basis_shell_z", "basis_shell_l", "basis_shell_nprim",
                "basis_shell_pyscf_order", "basis_exponents", "basis_coefficients")
        missing = [k for k in keys if k not in arrays]
        if missing:
            raise ValueError(f"cannot rebuild the basis: arrays {missing} are missing")
        nprim = np.asarray(arrays["basis_shell_nprim"])
        start = np.concatenate([[0], np.cumsum(nprim)])
        if start[-1] != len(arrays["basis_exponents"]) or start[-1] != len(arrays["basis_coefficients"]):
            raise ValueError("basis arrays are inconsistent: primitive counts do not match exponents")
        shells: dict[int, list] = {}
        for i, (z, l, o) in enumerate(zip(arrays["basis_shell_z"], arrays["basis_shell_l"],
                                          arrays["basis_shell_pyscf_order"], strict=True)):
            sl = slice(start[i], start[i + 1])
            shell = Shell(int(l), np.asarray(arrays["basis_exponents"][sl], np.float64),
                          np.asarray(arrays["basis_coefficients"][sl], np.float64))
            shells.setdefault(int(z), []).append((shell, int(o)))
        elements = {z: ElementBasis(z, tuple(s for s, _ in v), tuple(o for _, o in v))
                    for z, v in shells.items()}
        return cls(str(arrays["basis_name"]), elements)

    @classmethod
    def from_pyscf(cls, auxmol, name: str | None = None) -> BasisSet:
        """Read the basis of every element of a pyscf ``Mole`` (spherical, one contraction per
        shell). The stored coefficients multiply ``r^l exp(-alpha r^2) Y_lm`` directly (pyscf's
        contraction coefficients times the primitive norms), so each function has unit norm."""
        if auxmol.cart:
            raise ValueError("only spherical (cart=False) basis sets are supported")
        elements = {}
        for ia in range(auxmol.natm):
            from pyscf.gto import charge, gto_norm

            z = int(charge(auxmol.atom_pure_symbol(ia)))
            if z in elements:
                continue
            raw = []
            for ib in auxmol.atom_shell_ids(ia):
                if auxmol.bas_nctr(ib) != 1:
                    raise ValueError("generally contracted shells are not supported; decontract first")
                l, exps = int(auxmol.bas_angular(ib)), np.array(auxmol.bas_exp(ib), np.float64)
                # bas_ctr_coeff multiplies normalised primitives; fold their norms in
                coefs = auxmol.bas_ctr_coeff(ib)[:, 0] * gto_norm(l, exps)
                raw.append(Shell(l, exps, np.array(coefs, np.float64)))
            order = sorted(range(len(raw)), key=lambda i: raw[i].l)
            elements[z] = ElementBasis(z, tuple(raw[i] for i in order), tuple(order))
        return cls(name or str(auxmol.basis), elements)

    # ----------------------------------------------------------------- conversion
    def pyscf_to_e3nn(self, coefficients: np.ndarray, numbers: Sequence[int] | np.ndarray) -> np.ndarray:
        """Convert pyscf-ordered coefficients (K,) (atom by atom, shells in input order) to the
        e3nn layout (K,): shells sorted by l, each shell rotated by :func:`pyscf_to_e3nn_matrix`."""
        coefficients = np.asarray(coefficients, np.float64)
        out = np.empty_like(coefficients)
        off = self.offsets(numbers)
        if len(coefficients) != off[-1]:
            raise ValueError(f"{len(coefficients)} coefficients given, {off[-1]} expected")
        q = {}
        for a, z in enumerate(np.asarray(numbers).reshape(-1)):
            eb = self.elements[int(z)]
            ls_pyscf = [0] * len(eb.shells)
            for s, o in zip(eb.shells, eb.pyscf_order, strict=True):
                ls_pyscf[o] = s.l
            start_pyscf = np.concatenate([[0], np.cumsum([2 * l + 1 for l in ls_pyscf])]) + off[a]
            pos = off[a]
            for s, o in zip(eb.shells, eb.pyscf_order, strict=True):
                n = 2 * s.l + 1
                if s.l not in q:
                    q[s.l] = pyscf_to_e3nn_matrix(s.l)
                out[pos:pos + n] = q[s.l] @ coefficients[start_pyscf[o]:start_pyscf[o] + n]
                pos += n
        return out


# --------------------------------------------------------------------------- evaluation


def basis_on_points(positions: torch.Tensor, numbers: torch.Tensor | np.ndarray, basis: BasisSet,
                    points: torch.Tensor) -> torch.Tensor:
    """Values of every basis function at ``points``: shape (M, K) in Bohr^-3/2, columns in the
    flat e3nn coefficient layout. ``positions`` (N, 3) and ``points`` (M, 3) in Å."""
    numbers = np.asarray(numbers).reshape(-1)
    basis.check_numbers(numbers)
    positions, points = torch.as_tensor(positions), torch.as_tensor(points)
    dtype = torch.promote_types(positions.dtype, points.dtype)  # never round float64 input down
    positions, points = positions.to(dtype), points.to(dtype)
    off = basis.offsets(numbers)
    out = points.new_zeros(len(points), int(off[-1]))
    for z in sorted(set(numbers.tolist())):
        atoms = np.nonzero(numbers == z)[0]
        d = (points[:, None, :] - positions[atoms][None, :, :]) / BOHR  # (M, n_z, 3) Bohr
        r2 = (d * d).sum(-1)
        col = 0
        for s in basis.elements[z].shells:
            alpha = torch.as_tensor(s.exponents, dtype=d.dtype)
            coef = torch.as_tensor(s.coefficients, dtype=d.dtype)
            radial = (coef * torch.exp(-r2[..., None] * alpha)).sum(-1)  # (M, n_z)
            # normalize=False: the solid harmonics |r|^l Y_lm(r/|r|), smooth at r = 0
            ylm = o3.spherical_harmonics(s.l, d, normalize=False, normalization="integral")
            vals = radial[..., None] * ylm  # (M, n_z, 2l+1)
            n = 2 * s.l + 1
            for k, a in enumerate(atoms):
                out[:, off[a] + col:off[a] + col + n] = vals[:, k]
            col += n
    return out


def density_on_points(positions: torch.Tensor, numbers: torch.Tensor | np.ndarray,
                      coefficients: torch.Tensor, basis: BasisSet, points: torch.Tensor,
                      chunk: int = 4096) -> torch.Tensor:
    """The density ``rho(points)`` (M,) in electrons / Å^3 from flat e3nn-layout coefficients
    (K,). ``positions`` (N, 3) and ``points`` (M, 3) in Å. Differentiable in positions and
    coefficients; evaluated ``chunk`` points at a time to bound memory."""
    coefficients = torch.as_tensor(coefficients)
    expected = int(basis.offsets(numbers)[-1])
    if coefficients.shape != (expected,):
        raise ValueError(f"coefficients must have shape ({expected},) for these atoms, "
                         f"got {tuple(coefficients.shape)}")
    points = torch.as_tensor(points)
    parts = [basis_on_points(positions, numbers, basis, points[i:i + chunk]).to(coefficients.dtype) @ coefficients
             for i in range(0, len(points), chunk)]
    return torch.cat(parts) / BOHR**3 if parts else points.new_zeros(0)


def electrons_and_dipole(positions: torch.Tensor, numbers: torch.Tensor | np.ndarray,
                         coefficients: torch.Tensor, basis: BasisSet) -> tuple[torch.Tensor, torch.Tensor]:
    """Analytic integrals of a fitted density: the number of electrons ``N = int rho`` and the
    dipole moment of the molecule ``sum_A Z_A R_A - int r rho`` (3,) in e Å (nuclei counted
    with their charges ``numbers``). Only s and p functions contribute."""
    numbers_np = np.asarray(numbers).reshape(-1)
    positions = torch.as_tensor(positions)
    coefficients = torch.as_tensor(coefficients, dtype=positions.dtype)
    blocks = basis.split(coefficients, numbers_np)
    n_el = positions.new_zeros(())
    moment = positions.new_zeros(3)  # int r rho, in e Bohr
    for a, (z, c) in enumerate(zip(numbers_np, blocks, strict=True)):
        col = 0
        n_atom = positions.new_zeros(())
        for s in basis.elements[int(z)].shells:
            alpha = torch.as_tensor(s.exponents, dtype=positions.dtype)
            d = torch.as_tensor(s.coefficients, dtype=positions.dtype)
            gauss = (d * (math.pi / alpha) ** 1.5).sum()
            if s.l == 0:  # Y_00 = 1 / sqrt(4 pi)
                n_atom = n_atom + c[col] * gauss / math.sqrt(4 * math.pi)
            elif s.l == 1:  # Y_1 = sqrt(3 / 4 pi) (x, y, z) / r, int x^2 exp(-a r^2) = (pi/a)^1.5 / 2a
                moment = moment + c[col:col + 3] * math.sqrt(3 / (4 * math.pi)) * (
                    d * (math.pi / alpha) ** 1.5 / (2 * alpha)).sum()
            col += 2 * s.l + 1
        n_el = n_el + n_atom
        moment = moment + n_atom * positions[a] / BOHR
    z = torch.as_tensor(numbers_np, dtype=positions.dtype)
    dipole = (z[:, None] * positions).sum(0) - moment * BOHR
    return n_el, dipole


def rotate_coefficients(coefficients: torch.Tensor, numbers: torch.Tensor | np.ndarray,
                        basis: BasisSet, rotation: torch.Tensor) -> torch.Tensor:
    """Apply ``D(R)`` of each atom's irreps to flat e3nn-layout coefficients (K,): the
    coefficients of the density of the molecule rotated by the (3, 3) matrix ``rotation``."""
    coefficients = torch.as_tensor(coefficients)
    numbers_np = np.asarray(numbers).reshape(-1)
    blocks = basis.split(coefficients, numbers_np)
    with default_dtype(torch.float64):  # e3nn builds D in the default dtype
        rotation = torch.as_tensor(rotation, dtype=torch.float64)
        d = {z: basis.irreps(z).D_from_matrix(rotation).to(coefficients.dtype)
             for z in set(numbers_np.tolist())}
    return torch.cat([d[int(z)] @ c for z, c in zip(numbers_np, blocks, strict=True)])


# --------------------------------------------------------------------------- fitting (pyscf)


def fit_density_pyscf(mol, dm: np.ndarray, auxmol, block: int = 8) -> np.ndarray:
    """Fit the density of the AO density matrix ``dm`` of the pyscf molecule ``mol`` onto the
    auxiliary basis ``auxmol`` in the Coulomb metric: ``c = J^-1 (P|rho)`` with
    ``J_PQ = (P|1/r12|Q)`` and ``(P|rho) = sum_mn (P|mn) dm_mn``. Returns pyscf-ordered
    coefficients (n_aux,); convert them with :meth:`BasisSet.pyscf_to_e3nn`. The 3-centre
    integrals are made ``block`` auxiliary shells at a time. Needs pyscf."""
    from pyscf import lib
    from pyscf.df import incore

    dm = np.asarray(dm)
    dm_tril = lib.pack_tril(dm + dm.T)
    dm_tril[lib.pack_tril(np.eye(len(dm))) > 0] *= 0.5  # (P|mn) is stored for m >= n only
    ao_loc = auxmol.ao_loc_nr()
    proj = np.empty(auxmol.nao_nr())
    for s0 in range(0, auxmol.nbas, block):
        s1 = min(s0 + block, auxmol.nbas)
        eri3 = incore.aux_e2(mol, auxmol, "int3c2e", aosym="s2ij",
                             shls_slice=(0, mol.nbas, 0, mol.nbas, s0, s1))
        proj[ao_loc[s0]:ao_loc[s1]] = dm_tril @ eri3
    return np.linalg.solve(auxmol.intor("int2c2e"), proj)


# --------------------------------------------------------------------------- data files

CLUSTER_KEYS = ("positions", "numbers", "coefficients", "n_atoms", "n_coefficients", "energy", "dipole",
                "eps_rho", "n_molecules")


@dataclasses.dataclass
class Cluster:
    """One molecule or cluster with its fitted density (e3nn layout, see module docstring).

    positions (N, 3) Å, numbers (N,), coefficients (K,), energy eV, dipole (3,) e Å (DFT),
    eps_rho: the fitting floor int |rho_fit - rho_DFT| / N_electrons measured at generation.
    """

    positions: torch.Tensor
    numbers: np.ndarray
    coefficients: torch.Tensor
    energy: float
    dipole: torch.Tensor
    eps_rho: float
    n_molecules: int


def load_clusters(path, dtype: torch.dtype = torch.float64) -> tuple[list[Cluster], BasisSet]:
    """Read a ``data/water`` npz (a part or a packed set): its clusters and the basis.

    Raises a ``ValueError`` naming the problem when the file is unreadable, lacks arrays, or
    its arrays do not fit together (for example coefficient counts that do not match the basis).
    """
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not an npz (zip) file, or it is truncated. "
                         "Re-make it with data/water/generate.py")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except Exception as exc:  # zipfile / OSError / ValueError: say which file and why
        raise ValueError(f"cannot read {path}: {exc}. Re-make it with data/water/generate.py") from exc
    missing = [k for k in CLUSTER_KEYS if k not in arrays]
    if missing:
        raise ValueError(f"{path} lacks arrays {missing}: not a water-cluster density file")
    basis = BasisSet.from_arrays(arrays)
    n_atoms, n_coef = arrays["n_atoms"], arrays["n_coefficients"]
    if n_atoms.sum() != len(arrays["positions"]) or n_coef.sum() != len(arrays["coefficients"]):
        raise ValueError(f"{path}: per-cluster counts do not add up to the stored atoms/coefficients")
    for key in ("positions", "coefficients", "energy", "dipole"):
        if not np.isfinite(arrays[key]).all():
            raise ValueError(f"{path}: {key} has non-finite values")
    atom_off = np.concatenate([[0], np.cumsum(n_atoms)])
    coef_off = np.concatenate([[0], np.cumsum(n_coef)])
    clusters = []
    for i in range(len(n_atoms)):
        numbers = arrays["numbers"][atom_off[i]:atom_off[i + 1]].astype(np.int64)
        if basis.offsets(numbers)[-1] != n_coef[i]:
            raise ValueError(f"{path}: cluster {i} has {n_coef[i]} coefficients, its atoms need "
                             f"{basis.offsets(numbers)[-1]} in {basis.name}")
        clusters.append(Cluster(
            positions=torch.tensor(arrays["positions"][atom_off[i]:atom_off[i + 1]], dtype=dtype),
            numbers=numbers,
            coefficients=torch.tensor(arrays["coefficients"][coef_off[i]:coef_off[i + 1]], dtype=dtype),
            energy=float(arrays["energy"][i]), dipole=torch.tensor(arrays["dipole"][i], dtype=dtype),
            eps_rho=float(arrays["eps_rho"][i]), n_molecules=int(arrays["n_molecules"][i])))
    return clusters, basis
