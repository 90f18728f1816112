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

def element_symbol(z: int) -> str:
    """Chemical symbol of atomic number ``z`` (``ase.data.chemical_symbols``; ``"Z=..."`` for a
    number that is not an element)."""
    from ase.data import chemical_symbols

    return chemical_symbols[z] if 0 < z < len(chemical_symbols) else f"Z={z}"


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

    # ----------------------------------------------------------------- integrals
    def electron_counts(self, z: int) -> np.ndarray:
        """``q_P = int phi_P(r) d^3r`` for every function of element ``z`` (dim,), in electrons
        per unit coefficient: the electron count of a density is ``sum_A q_A . c_A``. Only
        ``l = 0`` functions integrate to non-zero (``Y_00 = 1 / sqrt(4 pi)``)."""
        self.check_numbers([z])
        q = []
        for s in self.elements[int(z)].shells:
            if s.l == 0:
                q.append(float((s.coefficients * (math.pi / s.exponents) ** 1.5).sum()) / math.sqrt(4 * math.pi))
            else:
                q.extend([0.0] * (2 * s.l + 1))
        return np.array(q, np.float64)

    def one_centre_overlap(self, z: int) -> np.ndarray:
        """The overlap matrix ``S_PQ = int phi_P phi_Q d^3r`` (dim, dim) of the functions of one
        atom of element ``z`` (dimensionless: the functions have unit norm, so ``S_PP = 1``).

        Functions of different ``(l, m)`` are orthogonal; two shells of the same ``l`` overlap
        through their radial parts, ``int_0^inf r^(2l+2) exp(-(a+b) r^2) dr =
        Gamma(l + 3/2) / (2 (a+b)^(l+3/2))``. ``c^T S c`` is then the squared L2 norm of one
        atom's density, and ``sum_A dc_A^T S dc_A`` the one-centre part of ``int |d rho|^2``."""
        self.check_numbers([z])
        shells = self.elements[int(z)].shells
        starts = np.cumsum([0] + [2 * s.l + 1 for s in shells])
        S = np.zeros((starts[-1], starts[-1]))
        for i, a in enumerate(shells):
            for j, b in enumerate(shells):
                if a.l != b.l:
                    continue
                p = a.exponents[:, None] + b.exponents[None, :]
                radial = math.gamma(a.l + 1.5) / (2 * p ** (a.l + 1.5))
                value = float(a.coefficients @ radial @ b.coefficients)
                S[starts[i]:starts[i + 1], starts[j]:starts[j + 1]] = value * np.eye(2 * a.l + 1)
        return S

    # ----------------------------------------------------------------- storage
    def to_arrays(self, prefix: str = "basis_") -> dict[str, np.ndarray]:
        """Plain arrays (for ``np.savez``) from which :meth:`from_arrays` rebuilds the basis;
        their names start with ``prefix`` (several bases can share one file)."""
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
        arrays = dict(name=np.array(self.name), shell_z=np.array(shell_z, np.int64),
                      shell_l=np.array(shell_l, np.int64), shell_nprim=np.array(nprim, np.int64),
                      shell_pyscf_order=np.array(order, np.int64),
                      exponents=np.array(exps, np.float64), coefficients=np.array(coefs, np.float64))
        return {prefix + k: v for k, v in arrays.items()}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], prefix: str = "basis_") -> BasisSet:
        """Rebuild a basis written by :meth:`to_arrays` with the same ``prefix``."""
        keys = ("name", "shell_z", "shell_l", "shell_nprim", "shell_pyscf_order", "exponents", "coefficients")
        missing = [prefix + k for k in keys if prefix + k not in arrays]
        if missing:
            raise ValueError(f"cannot rebuild the basis: arrays {missing} are missing")
        arrays = {k: arrays[prefix + k] for k in keys}
        nprim = np.asarray(arrays["shell_nprim"])
        start = np.concatenate([[0], np.cumsum(nprim)])
        if start[-1] != len(arrays["exponents"]) or start[-1] != len(arrays["coefficients"]):
            raise ValueError("basis arrays are inconsistent: primitive counts do not match exponents")
        shells: dict[int, list] = {}
        for i, (z, l, o) in enumerate(zip(arrays["shell_z"], arrays["shell_l"],
                                          arrays["shell_pyscf_order"], strict=True)):
            sl = slice(start[i], start[i + 1])
            shell = Shell(int(l), np.asarray(arrays["exponents"][sl], np.float64),
                          np.asarray(arrays["coefficients"][sl], np.float64))
            shells.setdefault(int(z), []).append((shell, int(o)))
        elements = {z: ElementBasis(z, tuple(s for s, _ in v), tuple(o for _, o in v))
                    for z, v in shells.items()}
        return cls(str(arrays["name"]), elements)

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


    def pyscf_to_e3nn_density_matrix(self, dm: np.ndarray, numbers: Sequence[int] | np.ndarray) -> np.ndarray:
        """Convert a pyscf AO density matrix (n, n) of this (orbital) basis to the e3nn layout:
        ``Q dm Q^T`` with ``Q`` the conversion of :meth:`pyscf_to_e3nn` applied to each axis."""
        dm = np.asarray(dm, np.float64)
        half = np.stack([self.pyscf_to_e3nn(col, numbers) for col in dm.T], axis=1)  # Q dm
        return np.stack([self.pyscf_to_e3nn(row, numbers) for row in half], axis=0)  # (Q dm) Q^T


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
        shells = basis.elements[z].shells
        d = (points[:, None, :] - positions[atoms][None, :, :]) / BOHR  # (M, n_z, 3) Bohr
        r2 = (d * d).sum(-1)
        # normalize=False: the solid harmonics |r|^l Y_lm(r/|r|), smooth at r = 0; one call per l
        ls = sorted({s.l for s in shells})
        ylm = dict(zip(ls, o3.spherical_harmonics(ls, d, normalize=False, normalization="integral")
                       .split([2 * l + 1 for l in ls], dim=-1), strict=True))
        vals = []
        for s in shells:
            alpha = torch.as_tensor(s.exponents, dtype=d.dtype)
            coef = torch.as_tensor(s.coefficients, dtype=d.dtype)
            radial = (coef * torch.exp(-r2[..., None] * alpha)).sum(-1)  # (M, n_z)
            vals.append(radial[..., None] * ylm[s.l])  # (M, n_z, 2l+1)
        cols = torch.as_tensor(off[atoms][:, None] + np.arange(basis.elements[z].dim)[None, :])
        out[:, cols.reshape(-1)] = torch.cat(vals, dim=-1).reshape(len(points), -1)
    return out


def density_on_points(positions: torch.Tensor, numbers: torch.Tensor | np.ndarray,
                      coefficients: torch.Tensor, basis: BasisSet, points: torch.Tensor,
                      chunk: int = 4096) -> torch.Tensor:
    """The density ``rho(points)`` (M,) in electrons / Å^3 from flat e3nn-layout coefficients
    (K,); several densities at once from (K, C) coefficients give (M, C) (the basis is then
    evaluated once). ``positions`` (N, 3) and ``points`` (M, 3) in Å. Differentiable in
    positions and coefficients; evaluated ``chunk`` points at a time to bound memory."""
    coefficients = torch.as_tensor(coefficients)
    expected = int(basis.offsets(numbers)[-1])
    if coefficients.dim() not in (1, 2) or coefficients.shape[0] != expected:
        raise ValueError(f"coefficients must have shape ({expected},) or ({expected}, C) for these "
                         f"atoms, got {tuple(coefficients.shape)}")
    points = torch.as_tensor(points)
    parts = [basis_on_points(positions, numbers, basis, points[i:i + chunk]).to(coefficients.dtype) @ coefficients
             for i in range(0, len(points), chunk)]
    return torch.cat(parts) / BOHR**3 if parts else points.new_zeros(0)


def density_from_matrix(positions: torch.Tensor, numbers: torch.Tensor | np.ndarray,
                        density_matrix: torch.Tensor, ao_basis: BasisSet, points: torch.Tensor,
                        chunk: int = 4096) -> torch.Tensor:
    """The density ``rho(r) = sum_mn D_mn phi_m(r) phi_n(r)`` (M,) in electrons / Å^3 of a
    density matrix ``D`` (n_ao, n_ao) in the e3nn layout of the orbital basis ``ao_basis``
    (for example the DFT density of a held-out cluster). ``positions`` (N, 3), ``points`` (M, 3) in Å."""
    density_matrix = torch.as_tensor(density_matrix)
    n_ao = int(ao_basis.offsets(numbers)[-1])
    if density_matrix.shape != (n_ao, n_ao):
        raise ValueError(f"density matrix must have shape ({n_ao}, {n_ao}) for these atoms in "
                         f"{ao_basis.name}, got {tuple(density_matrix.shape)}")
    points = torch.as_tensor(points)
    parts = []
    for i in range(0, len(points), chunk):
        phi = basis_on_points(positions, numbers, ao_basis, points[i:i + chunk]).to(density_matrix.dtype)
        parts.append(((phi @ density_matrix) * phi).sum(-1))
    return torch.cat(parts) / BOHR**3 if parts else points.new_zeros(0)


def unpack_tril(values: np.ndarray | torch.Tensor, n: int) -> torch.Tensor:
    """Symmetric (n, n) matrix from its lower triangle stored row by row (n (n + 1) / 2 values)."""
    values = torch.as_tensor(values)
    if values.shape != (n * (n + 1) // 2,):
        raise ValueError(f"a lower triangle of a ({n}, {n}) matrix has {n * (n + 1) // 2} values, "
                         f"got {tuple(values.shape)}")
    i, j = torch.tril_indices(n, n)
    out = values.new_zeros(n, n)
    out[i, j] = values
    out[j, i] = values
    return out


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
        n_atom = torch.as_tensor(basis.electron_counts(int(z)), dtype=positions.dtype) @ c  # s functions only
        for s in basis.elements[int(z)].shells:
            alpha = torch.as_tensor(s.exponents, dtype=positions.dtype)
            d = torch.as_tensor(s.coefficients, dtype=positions.dtype)
            if s.l == 1:  # Y_1 = sqrt(3 / 4 pi) (x, y, z) / r, int x^2 exp(-a r^2) = (pi/a)^1.5 / 2a
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


# --------------------------------------------------------------------------- integration grid

# Becke's atomic size for the radial grid: half the Bragg-Slater radius, the full one for H (Å)
_BECKE_RM_A = {1: 0.35, 6: 0.35, 7: 0.325, 8: 0.30, 9: 0.25}


def _becke_step(mu: torch.Tensor) -> torch.Tensor:
    """Becke's smoothed step s(mu) = (1 - p(p(p(mu)))) / 2, p(x) = 3x/2 - x^3/2: 1 at mu = -1, 0 at 1."""
    for _ in range(3):
        mu = 1.5 * mu - 0.5 * mu**3
    return 0.5 * (1.0 - mu)


def integration_grid(positions: torch.Tensor | np.ndarray, numbers: Sequence[int] | np.ndarray,
                     n_radial: int = 24, n_theta: int = 6, neighbours: int = 12, chunk: int = 4096
                     ) -> tuple[torch.Tensor, torch.Tensor]:
    """An atom-centred quadrature for integrals over all space, ``int f dr ~ sum_k w_k f(x_k)``.

    Around each atom: ``n_radial`` Gauss-Chebyshev points mapped to ``r = r_m (1+x)/(1-x)``
    (Becke 1988) times ``n_theta`` Gauss-Legendre points in cos(theta) and ``2 n_theta`` evenly
    spaced phi (exact for spherical harmonics up to degree ``2 n_theta - 1``); the atoms'
    grids are joined with Becke's fuzzy-cell weights, computed among the ``neighbours`` atoms
    nearest each point (farther atoms have cell weights below rounding there, and this keeps the
    cost linear in the number of atoms). Pure torch, float64.

    Returns points (M, 3) in Å and weights (M,) in Å^3, M = N * n_radial * 2 n_theta^2.
    """
    pos = torch.as_tensor(positions, dtype=torch.float64)
    numbers = np.asarray(numbers).reshape(-1)
    if pos.shape != (len(numbers), 3):
        raise ValueError(f"positions must have shape ({len(numbers)}, 3), got {tuple(pos.shape)}")
    if n_radial < 2 or n_theta < 2:
        raise ValueError(f"need n_radial >= 2 and n_theta >= 2, got {n_radial} and {n_theta}")
    i = np.arange(1, n_radial + 1)
    x = np.cos(i * np.pi / (n_radial + 1))
    w_x = np.pi / (n_radial + 1) * np.sin(i * np.pi / (n_radial + 1)) ** 2 / np.sqrt(1 - x**2)
    ct, w_ct = np.polynomial.legendre.leggauss(n_theta)
    phi = 2 * np.pi * np.arange(2 * n_theta) / (2 * n_theta)
    st = np.sqrt(1 - ct**2)
    unit = np.stack([np.outer(st, np.cos(phi)), np.outer(st, np.sin(phi)),
                     np.outer(ct, np.ones_like(phi))], -1).reshape(-1, 3)
    w_ang = np.outer(w_ct, np.full(len(phi), 2 * np.pi / len(phi))).reshape(-1)
    pts_list: list[torch.Tensor] = []
    wts_list: list[torch.Tensor] = []
    owner_list: list[torch.Tensor] = []
    for a, z in enumerate(numbers):
        r_m = _BECKE_RM_A.get(int(z), 0.5)
        r = r_m * (1 + x) / (1 - x)
        w_r = w_x * r**2 * 2 * r_m / (1 - x) ** 2
        pts_list.append(torch.as_tensor((r[:, None, None] * unit[None]).reshape(-1, 3)) + pos[a])
        wts_list.append(torch.as_tensor(np.outer(w_r, w_ang).reshape(-1)))
        owner_list.append(torch.full((len(r) * len(unit),), a))
    pts, wts, owner = torch.cat(pts_list), torch.cat(wts_list), torch.cat(owner_list)
    if len(numbers) > 1:  # Becke partition: w_A(x) = P_A(x) / sum_B P_B(x)
        k = min(neighbours, len(numbers))
        d_ab = torch.cdist(pos, pos)
        eye = torch.eye(k, dtype=torch.bool)
        for s0 in range(0, len(pts), chunk):
            r_all = torch.cdist(pts[s0:s0 + chunk], pos)  # (m, N)
            own = owner[s0:s0 + chunk]
            rank = r_all.scatter(1, own[:, None], -1.0)  # the owner first, then the nearest others
            near = torch.topk(rank, k, dim=1, largest=False).indices  # (m, k), column 0: the owner
            r = r_all.gather(1, near)
            d = d_ab[near[:, :, None], near[:, None, :]]  # (m, k, k)
            mu = (r[:, :, None] - r[:, None, :]) / d.masked_fill(eye, 1.0)
            cell = _becke_step(mu).masked_fill(eye, 1.0).prod(-1)  # P_B for the owner and its neighbours
            wts[s0:s0 + chunk] *= cell[:, 0] / cell.sum(-1)
    return pts, wts


def eps_rho(rho: torch.Tensor, rho_ref: torch.Tensor, weights: torch.Tensor, n_electrons: float) -> float:
    """The density error ``int |rho - rho_ref| dr / N_electrons`` (a fraction) on a quadrature;
    ``rho``, ``rho_ref`` (M,) in e / Å^3 and ``weights`` (M,) in Å^3."""
    if not (rho.shape == rho_ref.shape == weights.shape):
        raise ValueError(f"rho, rho_ref and weights must have one shape, got {tuple(rho.shape)}, "
                         f"{tuple(rho_ref.shape)}, {tuple(weights.shape)}")
    return float((weights * (rho - rho_ref).abs()).sum()) / float(n_electrons)


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


def load_free_atoms(path, basis: BasisSet, dtype: torch.dtype = torch.float64) -> dict[int, torch.Tensor]:
    """The free-atom coefficients ``{Z: (dim,)}`` of ``data/water/water_atoms.npz``, in e3nn's
    layout; ``basis`` (the clusters' basis) must be the file's, or a ``ValueError`` says so."""
    if not zipfile.is_zipfile(path):
        raise ValueError(f"{path} is not an npz (zip) file, or it is truncated. "
                         "Re-make it with: python data/water/generate.py atoms")
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in ("numbers", "coefficients") if k not in f.files]
        if missing:
            raise ValueError(f"{path} lacks {missing}: not a free-atom file")
        numbers, coefficients = f["numbers"], f["coefficients"]
        file_basis = BasisSet.from_arrays(f)
    for z in numbers:
        a, b = file_basis.elements[int(z)], basis.elements.get(int(z))
        same = b is not None and len(a.shells) == len(b.shells) and all(
            s.l == t.l and np.allclose(s.exponents, t.exponents) for s, t in zip(a.shells, b.shells, strict=True))
        if not same:
            raise ValueError(f"{path}: the basis of Z={int(z)} differs from the clusters' {basis.name} basis")
    blocks = basis.split(torch.as_tensor(coefficients, dtype=dtype), numbers)
    return {int(z): c for z, c in zip(numbers, blocks, strict=True)}


def promolecule_coefficients(numbers: Sequence[int] | np.ndarray, atoms: Mapping[int, torch.Tensor],
                             basis: BasisSet) -> torch.Tensor:
    """The promolecule of a cluster: every atom's free-atom ``0e`` coefficients (its spherical
    average; ``l > 0`` set to zero), flat (K,) in the layout of ``basis``. ``atoms``: from
    :func:`load_free_atoms`."""
    numbers = np.asarray(numbers).reshape(-1)
    basis.check_numbers(numbers)
    blocks = []
    for z in numbers:
        c = atoms[int(z)].clone()
        start = 0
        for mul, ir in basis.irreps(int(z)):
            if ir.l > 0:
                c[start:start + mul * ir.dim] = 0
            start += mul * ir.dim
        blocks.append(c)
    return torch.cat(blocks)


def load_density_matrices(path) -> tuple[list[torch.Tensor], BasisSet]:
    """The DFT density matrices (one (n_ao, n_ao) float64 tensor per cluster, e3nn layout) and
    their orbital basis, stored for the held-out sets of ``data/water``; a ``ValueError`` if the
    file has none (training sets do not store them)."""
    with np.load(path, allow_pickle=False) as f:
        if "density_matrix" not in f.files:
            raise ValueError(f"{path} stores no density matrices: only the held-out sets "
                             "(water_test, water_large) have them")
        arrays = {k: f[k] for k in f.files if k in ("density_matrix", "n_ao") or k.startswith("ao_basis_")}
    ao_basis = BasisSet.from_arrays(arrays, prefix="ao_basis_")
    n_ao = arrays["n_ao"]
    sizes = n_ao * (n_ao + 1) // 2
    if sizes.sum() != len(arrays["density_matrix"]):
        raise ValueError(f"{path}: the stored density matrices do not match their sizes n_ao")
    start = np.concatenate([[0], np.cumsum(sizes)])
    values = torch.as_tensor(arrays["density_matrix"], dtype=torch.float64)
    return [unpack_tril(values[a:b], int(n)) for a, b, n in zip(start[:-1], start[1:], n_ao, strict=True)], ao_basis


def density_errors(cluster: Cluster, predictions: Mapping[str, torch.Tensor], basis: BasisSet,
                   density_matrix: torch.Tensor | None = None, ao_basis: BasisSet | None = None,
                   n_radial: int = 24, n_theta: int = 6) -> dict[str, float | np.ndarray]:
    """Errors of predicted densities (``{name: flat coefficients (K,)}``) of one cluster, all on
    one :func:`integration_grid` (the basis is evaluated once). For every ``name``:

    - ``eps_<name>``: ``int |rho_name - rho_fit| / N`` (a fraction), against the fitted density;
    - ``eps_<name>_dft``: against the DFT density (only with ``density_matrix`` and ``ao_basis``);
    - ``n_<name>`` (analytic electron count) and ``dipole_<name>`` (3,) e Å (analytic dipole).

    Also ``floor`` (``eps`` of the fitted density against DFT), ``n_electrons`` (nuclear charge),
    ``n_grid_fit`` and ``n_grid_dft`` (the densities integrated on the grid: checks of the grid).
    """
    pos = cluster.positions.double()
    names = list(predictions)
    pts, w = integration_grid(pos, cluster.numbers, n_radial, n_theta)
    coefs = torch.stack([cluster.coefficients.double()] + [torch.as_tensor(predictions[k]).double() for k in names], 1)
    rho = density_on_points(pos, cluster.numbers, coefs, basis, pts)  # (M, 1 + len(names)); column 0: fit
    n_el = float(np.sum(cluster.numbers))
    out: dict[str, float | np.ndarray] = dict(n_electrons=n_el, n_grid_fit=float(w @ rho[:, 0]))
    rho_dft = None
    if density_matrix is not None:
        if ao_basis is None:
            raise ValueError("give the orbital basis (ao_basis) of the density matrix")
        rho_dft = density_from_matrix(pos, cluster.numbers, density_matrix, ao_basis, pts)
        out.update(floor=eps_rho(rho[:, 0], rho_dft, w, n_el), n_grid_dft=float(w @ rho_dft))
    for i, name in enumerate(names, start=1):
        out[f"eps_{name}"] = eps_rho(rho[:, i], rho[:, 0], w, n_el)
        if rho_dft is not None:
            out[f"eps_{name}_dft"] = eps_rho(rho[:, i], rho_dft, w, n_el)
        n, dip = electrons_and_dipole(pos, cluster.numbers, coefs[:, i], basis)
        out[f"n_{name}"], out[f"dipole_{name}"] = float(n), dip.numpy()
    return out
