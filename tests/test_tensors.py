"""Tests of tutorial_utils.tensors: Cartesian <-> irreps conversion of physical tensors and
point-group averaging. Reference counts of independent components are the textbook values
(J. F. Nye, Physical Properties of Crystals, Oxford University Press, 1957)."""

from __future__ import annotations

import pytest
import torch
from e3nn import o3

from tutorial_utils.symmetry import random_o3
from tutorial_utils.tensors import (
    HERMANN_MAUGUIN,
    INVERSION,
    POINT_GROUPS,
    TensorIrreps,
    generate_group,
    group_projector,
    invariant_counts,
    point_group,
    project_irreps,
    rotation_about,
    symmetrize,
    symmetrize_indices,
)

DTYPE = torch.float64


@pytest.fixture(autouse=True)
def _float64_default():
    """e3nn's Wigner D matrices are float32-accurate under a float32 default dtype."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(DTYPE)
    yield
    torch.set_default_dtype(default)

# (formula, index irreps, expected irreps)
TENSORS = [
    ("ij=ji", {}, "0e+2e"),  # dielectric
    ("ij", {}, "0e+1e+2e"),  # Born effective charge
    ("ij", {"i": "1e", "j": "1e"}, "0e+1e+2e"),  # NMR shielding
    ("ij", {"j": "1e"}, "0o+1o+2o"),  # axial rank 2 (polar x axial), e.g. E_i B_j
    ("ij=-ji", {}, "1e"),
    ("ijk=jik", {}, "2x1o+2o+3o"),  # Raman
    ("ijk=ikj", {}, "2x1o+2o+3o"),  # piezoelectric
    ("ijk=jik=ikj", {}, "1o+3o"),  # fully symmetric
    ("ijkl=jikl=ijlk=klij", {}, "2x0e+2x2e+4e"),  # elastic
]


@pytest.mark.parametrize("formula,index_irreps,expected", TENSORS)
def test_irreps_of_physical_tensors(formula, index_irreps, expected):
    t = TensorIrreps(formula, **index_irreps)
    assert t.irreps == o3.Irreps(expected)


def test_elastic_tensor_has_21_components():
    assert TensorIrreps("ijkl=jikl=ijlk=klij").irreps.dim == 21


@pytest.mark.parametrize("formula,index_irreps,expected", TENSORS)
def test_round_trip_and_equivariance(formula, index_irreps, expected):
    torch.manual_seed(0)
    t = TensorIrreps(formula, **index_irreps)
    T = symmetrize_indices(torch.randn(4, *[3] * t.rank, dtype=DTYPE), formula)
    x = t.to_irreps(T)
    assert x.shape == (4, t.irreps.dim)
    assert (t.to_cartesian(x) - T).abs().max() < 1e-10
    for _ in range(3):
        Q = random_o3(dtype=DTYPE)
        x_rot = t.to_irreps(t.rotate_cartesian(T, Q))
        # e3nn's D(Q) (Euler angles, matrix exponentials) can be off by ~1e-10 in float64
        assert (x_rot - x @ t.irreps.D_from_matrix(Q).T).abs().max() < 1e-8


def test_axial_index_flips_under_inversion():
    """A tensor with one polar and one axial index changes sign under inversion."""
    t = TensorIrreps("ij", j="1e")
    T = torch.randn(3, 3, dtype=DTYPE)
    assert torch.allclose(t.rotate_cartesian(T, INVERSION), -T)
    assert torch.allclose(TensorIrreps("ij").rotate_cartesian(T, INVERSION), T)


def test_symmetrize_indices():
    T = torch.randn(3, 3, 3, 3, dtype=DTYPE)
    S = symmetrize_indices(T, "ijkl=jikl=ijlk=klij")
    assert torch.allclose(S, S.permute(1, 0, 2, 3))
    assert torch.allclose(S, S.permute(0, 1, 3, 2))
    assert torch.allclose(S, S.permute(2, 3, 0, 1))
    A = symmetrize_indices(T[0, 0], "ij=-ji")
    assert torch.allclose(A, -A.T) and not torch.allclose(A, torch.zeros_like(A))


def test_broken_symmetry_is_rejected_or_projected():
    t = TensorIrreps("ij=ji")
    T = torch.randn(3, 3, dtype=DTYPE)
    with pytest.raises(ValueError, match="breaks the index symmetry"):
        t.to_irreps(T)
    # with check=False only the symmetric part is kept
    assert torch.allclose(t.to_cartesian(t.to_irreps(T, check=False)), (T + T.T) / 2)


def test_bad_inputs():
    with pytest.raises(ValueError, match="polar vector"):
        TensorIrreps("ij", i="2e")
    with pytest.raises(ValueError, match="not indices"):
        TensorIrreps("ij", k="1o")
    with pytest.raises(ValueError, match="permutation"):
        TensorIrreps("ij=jk")
    with pytest.raises(ValueError, match="last 2 axes"):
        TensorIrreps("ij").to_irreps(torch.zeros(3, 4))
    with pytest.raises(ValueError, match="size 9"):
        TensorIrreps("ij").to_cartesian(torch.zeros(5))
    with pytest.raises(ValueError, match="unknown point group"):
        point_group("Xyz")
    with pytest.raises(ValueError, match="finite point group"):
        generate_group([rotation_about([0, 0, 1], 1.0)])
    with pytest.raises(ValueError, match="orthogonal"):
        generate_group([2 * torch.eye(3)])


ORDERS = {"C1": 1, "Ci": 2, "C2": 2, "Cs": 2, "C2h": 4, "D2": 4, "C2v": 4, "D2h": 8,
          "C4": 4, "S4": 4, "C4h": 8, "D4": 8, "C4v": 8, "D2d": 8, "D4h": 16,
          "C3": 3, "S6": 6, "D3": 6, "C3v": 6, "D3d": 12,
          "C6": 6, "C3h": 6, "C6h": 12, "D6": 12, "C6v": 12, "D3h": 12, "D6h": 24,
          "T": 12, "Th": 24, "O": 24, "Td": 24, "Oh": 48}
CENTROSYMMETRIC = {"Ci", "C2h", "D2h", "C4h", "D4h", "S6", "D3d", "C6h", "D6h", "Th", "Oh"}  # the 11 Laue classes


def test_all_32_crystal_classes_are_known():
    assert set(POINT_GROUPS) == set(ORDERS) == set(HERMANN_MAUGUIN)
    assert len(POINT_GROUPS) == 32 and len(set(HERMANN_MAUGUIN.values())) == 32


@pytest.mark.parametrize("name,order", ORDERS.items())
def test_point_groups_are_closed_groups(name, order):
    G = point_group(name)
    assert G.shape == (order, 3, 3)
    eye = torch.eye(3, dtype=DTYPE)
    assert torch.allclose(G @ G.transpose(1, 2), eye.expand_as(G), atol=1e-12)
    # closure: every product is again an element
    prods = (G[:, None] @ G[None]).reshape(-1, 1, 9)
    dist = (prods - G.reshape(1, -1, 9)).abs().amax(-1).amin(-1)
    assert float(dist.max()) < 1e-9
    has_inversion = bool((G + eye).abs().amax((1, 2)).min() < 1e-12)
    assert has_inversion == (name in CENTROSYMMETRIC)


def _classes_allowing(irreps: str) -> set[str]:
    """Hermann-Mauguin symbols of the crystal classes with a nonzero invariant in ``irreps``."""
    return {HERMANN_MAUGUIN[name] for name in POINT_GROUPS
            if sum(c for _, c in invariant_counts(irreps, point_group(name))) > 0}


def test_property_counts_over_the_32_classes():
    """Textbook counts (Nye 1957): pyroelectricity (a polar vector) in 10 classes,
    piezoelectricity in 20, natural optical activity (the symmetric axial gyration tensor,
    0o + 2o) in 15: the 11 enantiomorphic classes plus m, mm2, -4 and -42m."""
    assert len(_classes_allowing("1o")) == 10
    assert len(_classes_allowing(str(TensorIrreps("ijk=ikj").irreps))) == 20
    enantiomorphic = {"1", "2", "222", "4", "422", "3", "32", "6", "622", "23", "432"}
    assert _classes_allowing("0o") == enantiomorphic
    assert _classes_allowing("0o + 2o") == enantiomorphic | {"m", "mm2", "-4", "-42m"}


# independent components per crystal class (Nye 1957)
COUNTS = {
    # point group: (dielectric, piezoelectric, elastic, axial rank 2 (E_i B_j))
    "Oh": (1, 0, 3, 0),
    "O": (1, 0, 3, 1),
    "Td": (1, 1, 3, 0),
    "D4h": (2, 0, 6, 0),
    "C4v": (2, 3, 6, 1),
    "D6h": (2, 0, 5, 0),
    "D2h": (3, 0, 9, 0),
    "Ci": (6, 0, 21, 0),
    "C1": (6, 18, 21, 9),
}


@pytest.mark.parametrize("name,expected", COUNTS.items())
def test_independent_components_per_point_group(name, expected):
    G = point_group(name)
    tensors = [TensorIrreps("ij=ji"), TensorIrreps("ijk=ikj"), TensorIrreps("ijkl=jikl=ijlk=klij"),
               TensorIrreps("ij", j="1e")]
    counts = tuple(sum(c for _, c in invariant_counts(t.irreps, G)) for t in tensors)
    assert counts == expected


def test_cubic_and_tetragonal_dielectric():
    torch.manual_seed(1)
    t = TensorIrreps("ij=ji")
    eps = symmetrize_indices(torch.randn(3, 3, dtype=DTYPE), "ij=ji")
    cubic = symmetrize(eps, point_group("Oh"), t)
    assert torch.allclose(cubic, torch.trace(eps) / 3 * torch.eye(3, dtype=DTYPE), atol=1e-12)
    tetra = symmetrize(eps, point_group("D4h"), t)
    expected = torch.diag(torch.stack([(eps[0, 0] + eps[1, 1]) / 2] * 2 + [eps[2, 2]]))
    assert torch.allclose(tetra, expected, atol=1e-12)
    # the same projection in irreps space
    x = project_irreps(t.to_irreps(eps), t.irreps, point_group("D4h"))
    assert torch.allclose(t.to_cartesian(x), tetra, atol=1e-12)
    assert invariant_counts(t.irreps, point_group("Oh")) == [("0e", 1), ("2e", 0)]
    assert invariant_counts(t.irreps, point_group("D4h")) == [("0e", 1), ("2e", 1)]


def test_projector_is_idempotent():
    P = group_projector("0e+1o+2e+3o+4e", point_group("D6h"))
    assert torch.allclose(P @ P, P, atol=1e-12)
    assert torch.allclose(P, P.T, atol=1e-12)
