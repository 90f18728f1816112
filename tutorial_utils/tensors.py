"""Physical tensors as irreps, and the point-group symmetry of tensors.

Two tools for material property tensors (dielectric, Born charge, piezoelectric, elastic, ...):

* :class:`TensorIrreps` converts a Cartesian tensor with index symmetries (e.g. ``"ij=ji"``)
  to its irreducible components and back, using e3nn's
  :class:`~e3nn.o3.ReducedTensorProducts` for the change of basis. Each index is a polar
  (``"1o"``, e.g. an electric field) or axial (``"1e"``, e.g. a magnetic field) vector index.
* Point groups are stored as tensors of O(3) matrices (``(|G|, 3, 3)``), built by closing a
  set of generators (:func:`generate_group`; :func:`point_group` knows all 32 crystal
  classes). Averaging a tensor over a
  group (:func:`symmetrize`, :func:`project_irreps`) keeps exactly the part the crystal
  symmetry allows (Neumann's principle); :func:`invariant_counts` says how many independent
  components survive in each irrep.

Conventions: an O(3) element ``Q`` acts on a polar vector as ``v -> Q v`` and on an axial
vector as ``v -> det(Q) Q v``; on irreps features as ``x -> D(Q) x``
(see :mod:`tutorial_utils.symmetry`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

import torch
from e3nn import o3

from .symmetry import default_dtype

__all__ = [
    "HERMANN_MAUGUIN",
    "INVERSION",
    "POINT_GROUPS",
    "TensorIrreps",
    "generate_group",
    "group_projector",
    "invariant_counts",
    "point_group",
    "project_irreps",
    "rotation_about",
    "symmetrize",
    "symmetrize_indices",
]

_VECTOR_IRREPS = {"1o": "polar", "1e": "axial"}

INVERSION = -torch.eye(3, dtype=torch.float64)
"""The inversion ``-1`` (3, 3), float64."""


# --------------------------------------------------------------------------------------
# Index symmetries of a Cartesian tensor
# --------------------------------------------------------------------------------------
def _parse_formula(formula: str) -> tuple[str, list[tuple[int, str]]]:
    """Split ``"ijk=jik=-ikj"`` into the index string ``"ijk"`` and [(sign, permuted), ...]."""
    if not isinstance(formula, str) or not formula.strip():
        raise ValueError(f"formula must be a non-empty string such as 'ij=ji', got {formula!r}")
    parts = [p.strip() for p in formula.replace(" ", "").split("=")]
    indices = parts[0].lstrip("-")
    if parts[0].startswith("-"):
        raise ValueError(f"the first term of formula {formula!r} must not carry a minus sign")
    if not indices.isalpha() or len(set(indices)) != len(indices):
        raise ValueError(
            f"formula {formula!r}: the first term must be distinct letters, one per index, e.g. 'ijk'"
        )
    relations = []
    for p in parts[1:]:
        sign = -1 if p.startswith("-") else 1
        perm = p.lstrip("-")
        if sorted(perm) != sorted(indices):
            raise ValueError(
                f"formula {formula!r}: {p!r} is not a permutation of the indices {indices!r}"
            )
        relations.append((sign, perm))
    return indices, relations


def symmetrize_indices(T: torch.Tensor, formula: str) -> torch.Tensor:
    """Average a Cartesian tensor over the index permutations that ``formula`` declares.

    Pure Cartesian algebra, independent of e3nn: the result satisfies every relation of the
    formula (e.g. ``"ij=ji"`` gives ``(T + T^T) / 2``). ``T`` has shape (..., 3, ..., 3) with
    one trailing axis per index.
    """
    indices, relations = _parse_formula(formula)
    n = len(indices)
    if T.dim() < n or any(s != 3 for s in T.shape[-n:]):
        raise ValueError(
            f"formula {formula!r} needs a tensor whose last {n} axes have size 3, got {tuple(T.shape)}"
        )
    # close the set of (sign, permutation) under composition: a finite group
    gens = [(s, tuple(indices.index(c) for c in perm)) for s, perm in relations]
    group = {(1, tuple(range(n)))}
    frontier = list(group)
    while frontier:
        new = []
        for s1, p1 in frontier:
            for s2, p2 in gens:
                elem = (s1 * s2, tuple(p1[k] for k in p2))
                if elem not in group:
                    group.add(elem)
                    new.append(elem)
        frontier = new
    if (-1, tuple(range(n))) in group:  # e.g. "ij=-ij": only the zero tensor is allowed
        return torch.zeros_like(T)
    batch = T.dim() - n
    out = torch.zeros_like(T)
    for sign, perm in group:
        out = out + sign * T.permute(*range(batch), *(batch + k for k in perm))
    return out / len(group)


@lru_cache(maxsize=64)
def _reduced_basis(formula: str, index_irreps: tuple[tuple[str, str], ...]) -> tuple[o3.Irreps, torch.Tensor]:
    """Irreps and change of basis (dim, 3, ..., 3) in float64, cached per formula."""
    with default_dtype(torch.float64):  # e3nn builds the basis in the default dtype
        rtp = o3.ReducedTensorProducts(formula, **dict(index_irreps))
    return rtp.irreps_out, rtp.change_of_basis.to(torch.float64)


class TensorIrreps:
    """Cartesian tensor <-> irreps for a tensor with index symmetries.

    Args:
        formula: index symmetries in e3nn's notation, e.g. ``"ij=ji"`` (symmetric),
            ``"ij"`` (no symmetry), ``"ijkl=jikl=ijlk=klij"`` (elastic).
        **index_irreps: ``"1o"`` (polar, the default) or ``"1e"`` (axial) for any index,
            e.g. ``TensorIrreps("ij", i="1e", j="1e")`` for the NMR shielding.

    Attributes:
        irreps: the irreps of the tensor (``o3.Irreps``); ``irreps.dim`` is the number of
            independent components.
        change_of_basis: ``Q`` (irreps.dim, 3, ..., 3), float64, orthonormal rows, with
            ``T[ij..] = sum_k x[k] Q[k, ij..]`` and ``x[k] = sum_ij.. Q[k, ij..] T[ij..]``.
    """

    def __init__(self, formula: str, **index_irreps: str) -> None:
        indices, _ = _parse_formula(formula)
        unknown = set(index_irreps) - set(indices)
        if unknown:
            raise ValueError(
                f"irreps given for {sorted(unknown)}, which are not indices of formula {formula!r}"
            )
        irreps = {}
        for i in indices:
            ir = str(o3.Irrep(index_irreps.get(i, "1o")))
            if ir not in _VECTOR_IRREPS:
                raise ValueError(
                    f"index {i!r} has irreps {ir!r}; a Cartesian index must be a polar vector "
                    "'1o' or an axial vector '1e'"
                )
            irreps[i] = ir
        self.formula = formula.replace(" ", "")
        self.indices = indices
        self.index_irreps = irreps
        self.irreps, self.change_of_basis = _reduced_basis(self.formula, tuple(sorted(irreps.items())))

    @property
    def rank(self) -> int:
        """Number of Cartesian indices."""
        return len(self.indices)

    def __repr__(self) -> str:
        idx = ", ".join(f"{i}={ir}" for i, ir in self.index_irreps.items())
        return f"TensorIrreps({self.formula!r}, {idx}) -> {self.irreps}"

    def _check_cartesian(self, T: torch.Tensor) -> None:
        n = self.rank
        if T.dim() < n or any(s != 3 for s in T.shape[-n:]):
            raise ValueError(
                f"a rank-{n} Cartesian tensor needs its last {n} axes of size 3, got shape {tuple(T.shape)}"
            )

    def _Q(self, like: torch.Tensor) -> torch.Tensor:
        return self.change_of_basis.to(dtype=like.dtype, device=like.device)

    def to_irreps(self, T: torch.Tensor, check: bool = True, atol: float = 1e-6) -> torch.Tensor:
        """Irreducible components (..., irreps.dim) of a Cartesian tensor (..., 3, ..., 3).

        With ``check=True`` a tensor that breaks the formula's index symmetries (so that
        the conversion would silently drop part of it) raises a ``ValueError``; pass
        ``check=False`` to keep only the allowed part (a projection).
        """
        self._check_cartesian(T)
        Q = self._Q(T).flatten(1)
        x = T.flatten(-self.rank) @ Q.T
        if check:
            err = self.symmetry_error(T, _x=x)
            scale = max(float(T.abs().max()), 1.0)
            if err > atol * scale:
                raise ValueError(
                    f"the tensor breaks the index symmetry {self.formula!r} (the part outside it "
                    f"is {err:.2e}); symmetrize it first (symmetrize_indices) or pass check=False "
                    "to keep only the allowed part"
                )
        return x

    def to_cartesian(self, x: torch.Tensor) -> torch.Tensor:
        """Cartesian tensor (..., 3, ..., 3) from irreducible components (..., irreps.dim)."""
        if x.dim() < 1 or x.shape[-1] != self.irreps.dim:
            raise ValueError(
                f"irreps features of {self.irreps} need a last axis of size {self.irreps.dim}, "
                f"got shape {tuple(x.shape)}"
            )
        Q = self._Q(x)
        return (x @ Q.flatten(1)).view(*x.shape[:-1], *Q.shape[1:])

    def symmetry_error(self, T: torch.Tensor, _x: torch.Tensor | None = None) -> float:
        """Largest entry of the part of ``T`` outside the allowed subspace (0 if ``T`` obeys
        the formula): ``max |T - to_cartesian(to_irreps(T))|``."""
        x = self.to_irreps(T, check=False) if _x is None else _x
        return float((T - self.to_cartesian(x)).abs().max()) if T.numel() else 0.0

    def rotate_cartesian(self, T: torch.Tensor, Q: torch.Tensor) -> torch.Tensor:
        """Apply the O(3) element ``Q`` (3, 3) to a Cartesian tensor (..., 3, ..., 3).

        Every index rotates with ``Q``; an axial index (``"1e"``) also gets ``det Q``.
        """
        self._check_cartesian(T)
        Q = Q.to(dtype=T.dtype, device=T.device)
        det = torch.linalg.det(Q)
        out = T
        n = self.rank
        for k, i in enumerate(self.indices):
            M = Q * det if self.index_irreps[i] == "1e" else Q
            axis = out.dim() - n + k
            out = torch.movedim(torch.tensordot(out, M, dims=([axis], [1])), -1, axis)
        return out


# --------------------------------------------------------------------------------------
# Point groups
# --------------------------------------------------------------------------------------
def rotation_about(axis: Sequence[float], angle: float) -> torch.Tensor:
    """Rotation matrix (3, 3), float64, by ``angle`` (radians) about ``axis`` (any length > 0)."""
    a = torch.as_tensor(axis, dtype=torch.float64)
    if a.shape != (3,) or float(a.norm()) < 1e-12:
        raise ValueError(f"axis must be a non-zero 3-vector, got {list(a.shape)} {a.tolist()}")
    return o3.axis_angle_to_matrix(a / a.norm(), torch.tensor(float(angle), dtype=torch.float64))


def generate_group(generators: Sequence[torch.Tensor] | torch.Tensor, max_order: int = 240,
                   atol: float = 1e-6) -> torch.Tensor:
    """The finite subgroup of O(3) generated by ``generators``: (|G|, 3, 3), float64.

    Multiplies elements until nothing new appears; the identity comes first. Raises if a
    generator is not orthogonal or the group grows beyond ``max_order`` (e.g. a rotation
    by an irrational angle generates an infinite group).
    """
    gens = [torch.as_tensor(g, dtype=torch.float64) for g in generators]
    for k, g in enumerate(gens):
        if g.shape != (3, 3) or not torch.allclose(g @ g.T, torch.eye(3, dtype=torch.float64), atol=atol):
            raise ValueError(f"generator {k} is not an orthogonal 3x3 matrix; a point group acts by O(3)")
    elements = [torch.eye(3, dtype=torch.float64)]
    frontier = list(elements)
    while frontier:
        new = []
        for a in frontier:
            for g in gens:
                b = g @ a
                if not any(torch.allclose(b, e, atol=atol) for e in elements):
                    elements.append(b)
                    new.append(b)
                    if len(elements) > max_order:
                        raise ValueError(
                            f"the generators make more than {max_order} elements; they do not "
                            "generate a finite point group (check the rotation angles)"
                        )
        frontier = new
    return torch.stack(elements)


_C4Z = ((0.0, 0.0, 1.0), math.pi / 2)
_C3_111 = ((1.0, 1.0, 1.0), 2 * math.pi / 3)
_C2X = ((1.0, 0.0, 0.0), math.pi)
_C6Z = ((0.0, 0.0, 1.0), math.pi / 3)
_C3Z = ((0.0, 0.0, 1.0), 2 * math.pi / 3)
_C2Z = ((0.0, 0.0, 1.0), math.pi)

# Generators in the standard Cartesian setting: the principal (2-, 3-, 4- or 6-fold) axis
# along z, the cubic 3-fold axis along [111], a 2-fold axis or a mirror normal along x.
POINT_GROUPS: dict[str, list[tuple | str]] = {  # a generator: a matrix given by tuples, or a name
    # triclinic
    "C1": [],
    "Ci": ["I"],
    # monoclinic
    "C2": [_C2Z],
    "Cs": ["mz"],
    "C2h": [_C2Z, "I"],
    # orthorhombic
    "D2": [_C2Z, _C2X],
    "C2v": [_C2Z, "mx"],
    "D2h": [_C2Z, _C2X, "I"],
    # tetragonal
    "C4": [_C4Z],
    "S4": ["S4z"],
    "C4h": [_C4Z, "I"],
    "D4": [_C4Z, _C2X],
    "C4v": [_C4Z, "mx"],
    "D2d": ["S4z", _C2X],
    "D4h": [_C4Z, _C2X, "I"],
    # trigonal
    "C3": [_C3Z],
    "S6": [_C3Z, "I"],
    "D3": [_C3Z, _C2X],
    "C3v": [_C3Z, "mx"],
    "D3d": [_C3Z, _C2X, "I"],
    # hexagonal
    "C6": [_C6Z],
    "C3h": [_C3Z, "mz"],
    "C6h": [_C6Z, "I"],
    "D6": [_C6Z, _C2X],
    "C6v": [_C6Z, "mx"],
    "D3h": [_C3Z, "mz", _C2X],
    "D6h": [_C6Z, _C2X, "I"],
    # cubic
    "T": [_C2Z, _C3_111],
    "Th": [_C2Z, _C3_111, "I"],
    "O": [_C4Z, _C3_111],
    "Td": ["S4z", _C3_111],
    "Oh": [_C4Z, _C3_111, "I"],
}
"""Generators of the 32 crystallographic point groups (Schoenflies names), by crystal system."""

HERMANN_MAUGUIN: dict[str, str] = {
    "C1": "1", "Ci": "-1", "C2": "2", "Cs": "m", "C2h": "2/m", "D2": "222", "C2v": "mm2",
    "D2h": "mmm", "C4": "4", "S4": "-4", "C4h": "4/m", "D4": "422", "C4v": "4mm", "D2d": "-42m",
    "D4h": "4/mmm", "C3": "3", "S6": "-3", "D3": "32", "C3v": "3m", "D3d": "-3m", "C6": "6",
    "C3h": "-6", "C6h": "6/m", "D6": "622", "C6v": "6mm", "D3h": "-6m2", "D6h": "6/mmm",
    "T": "23", "Th": "m-3", "O": "432", "Td": "-43m", "Oh": "m-3m",
}
"""Schoenflies name -> Hermann-Mauguin (international) symbol of the 32 crystal classes."""


def _generator_matrix(g) -> torch.Tensor:
    if g == "I":
        return INVERSION.clone()
    if g == "mx":  # mirror plane perpendicular to x: inversion times C2x
        return INVERSION @ rotation_about(*_C2X)
    if g == "mz":  # mirror plane perpendicular to z: inversion times C2z
        return INVERSION @ rotation_about(*_C2Z)
    if g == "S4z":  # improper 4-fold rotation: inversion times a rotation by -90 degrees about z
        return INVERSION @ rotation_about(_C4Z[0], -math.pi / 2)
    return rotation_about(*g)


def point_group(name: str) -> torch.Tensor:
    """The elements (|G|, 3, 3), float64, of a crystallographic point group by its
    Schoenflies name, generated from generators (see :data:`POINT_GROUPS`).

    All 32 crystal classes are known, e.g. cubic ``"Oh"`` (48 elements, rock salt), ``"Td"``
    (zinc blende), tetragonal ``"D4h"`` (16, 4-fold axis along z), hexagonal ``"D6h"``,
    trigonal ``"D3d"``, orthorhombic ``"D2h"``, monoclinic ``"C2h"``, triclinic ``"C1"``;
    :data:`HERMANN_MAUGUIN` gives their international symbols.
    """
    if name not in POINT_GROUPS:
        raise ValueError(f"unknown point group {name!r}; choose one of {sorted(POINT_GROUPS)}")
    return generate_group([_generator_matrix(g) for g in POINT_GROUPS[name]])


def _check_group(group: torch.Tensor) -> torch.Tensor:
    group = torch.as_tensor(group)
    if group.dim() != 3 or group.shape[1:] != (3, 3) or group.shape[0] == 0:
        raise ValueError(f"a group must be a (|G|, 3, 3) stack of O(3) matrices, got {tuple(group.shape)}")
    return group


def group_projector(irreps: o3.Irreps | str, group: torch.Tensor) -> torch.Tensor:
    """``P = (1/|G|) sum_g D(g)`` (dim, dim): the projector onto the features of ``irreps``
    that every element of ``group`` leaves unchanged. Its trace counts them."""
    group = _check_group(group).to(torch.float64)
    irreps = o3.Irreps(irreps)
    with default_dtype(torch.float64):  # D(Q) is only float32-accurate under a float32 default
        return irreps.D_from_matrix(group).mean(0)  # batched over the group elements


def project_irreps(x: torch.Tensor, irreps: o3.Irreps | str, group: torch.Tensor) -> torch.Tensor:
    """Average irreps features ``x`` (..., dim) over ``group``: keeps the invariant part."""
    P = group_projector(irreps, group).to(dtype=x.dtype, device=x.device)
    if x.shape[-1] != P.shape[0]:
        raise ValueError(f"features of {irreps} need a last axis of size {P.shape[0]}, got {tuple(x.shape)}")
    return x @ P.T


def symmetrize(T: torch.Tensor, group: torch.Tensor, tensor: TensorIrreps) -> torch.Tensor:
    """Average a Cartesian tensor over a point group, in Cartesian form:
    ``(1/|G|) sum_g g.T`` with every index rotated (see :meth:`TensorIrreps.rotate_cartesian`).

    The result is the part of ``T`` that a crystal with this point group allows.
    """
    group = _check_group(group)
    return torch.stack([tensor.rotate_cartesian(T, g) for g in group]).mean(0)


def invariant_counts(irreps: o3.Irreps | str, group: torch.Tensor) -> list[tuple[str, int]]:
    """Number of independent components that ``group`` allows in each irrep of ``irreps``.

    Returns one ``(irrep, count)`` per copy of each irrep, in order, e.g. for the
    dielectric tensor ``0e+2e`` under a tetragonal group ``[("0e", 1), ("2e", 1)]``.
    The total is the number of independent components of the tensor in that crystal.
    """
    irreps = o3.Irreps(irreps)
    P = group_projector(irreps, group)
    counts = []
    start = 0
    for mul, ir in irreps:
        for _ in range(mul):
            block = P[start : start + ir.dim, start : start + ir.dim]
            counts.append((str(ir), int(round(float(torch.trace(block))))))
            start += ir.dim
    return counts

