"""3D Tetris (tutorial_utils.lessons.tetris): the shapes are what they claim, the e3nn model is
E(3)-equivariant (parity included), the distance model cannot tell the chiral pair apart."""

import itertools

import pytest
import torch
from e3nn.util.test import assert_equivariant, equivariance_error

from tutorial_utils.lessons.tetris import (
    CHIRAL_PAIR,
    NAMES,
    SHAPES,
    DistanceMLP,
    EquivariantTetris,
    PlainMLP,
    make_test_set,
    mirror_labels,
    pairwise_distances,
    random_copies,
    same_points,
    shape_tensor,
    superposition_rmsd,
)
from tutorial_utils.symmetry import random_o3

MIRROR_Y = torch.diag(torch.tensor([1.0, -1.0, 1.0], dtype=torch.float64))


def test_eight_face_connected_shapes_of_four_cubes():
    assert len(SHAPES) == 8
    pos, labels = shape_tensor(torch.float64)
    assert pos.shape == (8, 4, 3) and labels.tolist() == list(range(8))
    for name, cubes in SHAPES.items():
        assert len(set(cubes)) == 4, f"{name} has overlapping cubes"
        # face-connected: the graph of unit-distance neighbours is connected
        p = torch.tensor(cubes, dtype=torch.float64)
        adjacent = (torch.cdist(p, p) - 1.0).abs() < 1e-9
        reached = {0}
        for _ in range(4):
            reached |= {j for i in reached for j in range(4) if adjacent[i, j]}
        assert reached == {0, 1, 2, 3}, f"{name} is not face-connected"


def test_shapes_are_pairwise_different_even_with_mirror_images_except_the_chiral_pair():
    pos, _ = shape_tensor(torch.float64)
    for i, j in itertools.combinations(range(8), 2):
        rmsd = superposition_rmsd(pos[i], pos[j], proper=False)
        if {i, j} == set(CHIRAL_PAIR):
            assert rmsd < 1e-9, "the chiral pair must be mirror images"
        else:
            assert rmsd > 0.1, f"{NAMES[i]} and {NAMES[j]} are the same shape"


def test_chiral_pair_are_mirror_images_not_related_by_a_rotation():
    pos, _ = shape_tensor(torch.float64)
    left, right = pos[CHIRAL_PAIR[0]], pos[CHIRAL_PAIR[1]]
    assert same_points(left @ MIRROR_Y.T, right)
    assert superposition_rmsd(left, right, proper=True) > 0.1
    # the check itself can succeed: a rotated, relabelled, shifted copy superimposes
    R = torch.linalg.qr(torch.randn(3, 3, dtype=torch.float64)).Q
    R = R * torch.linalg.det(R)  # a proper rotation
    moved = left[[2, 0, 3, 1]] @ R.T + torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    assert superposition_rmsd(left, moved, proper=True) < 1e-9


def test_only_the_chiral_pair_shares_its_distance_list():
    pos, _ = shape_tensor(torch.float64)
    d = pairwise_distances(pos)
    equal = {(i, j) for i, j in itertools.combinations(range(8), 2) if torch.allclose(d[i], d[j])}
    assert equal == {CHIRAL_PAIR}


def test_distance_model_cannot_separate_the_chiral_pair():
    torch.manual_seed(0)
    model = DistanceMLP().double()
    pos, _ = shape_tensor(torch.float64)
    left, right = pos[CHIRAL_PAIR[0]], pos[CHIRAL_PAIR[1]]
    Q = random_o3(dtype=torch.float64)
    with torch.no_grad():
        out = model(torch.stack([left, right, right @ Q.T + 2.0]))
        others = model(pos)
    assert torch.allclose(out[0], out[1], atol=1e-12) and torch.allclose(out[0], out[2], atol=1e-12)
    # ... while it does separate shapes whose distances differ
    assert (others[0] - others[1]).abs().max() > 1e-3


def test_distance_model_is_invariant():
    torch.manual_seed(1)
    model = DistanceMLP().double()
    pos, _ = shape_tensor(torch.float64)
    assert_equivariant(model, [pos], irreps_in=["cartesian_points"], irreps_out=["8x0e"], tolerance=1e-10)


@pytest.mark.parametrize("dtype, tolerance", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_equivariant_model_is_o3_equivariant(dtype, tolerance):
    torch.manual_seed(2)
    model = EquivariantTetris().to(dtype)
    pos, _ = shape_tensor(dtype)
    pos = pos + 0.1 * torch.randn(pos.shape, dtype=dtype)  # off the lattice: a generic input
    errors = equivariance_error(model, [pos], irreps_in=["cartesian_points"], irreps_out=[model.irreps_out],
                                ntrials=3, do_parity=True, do_translation=True)
    scale = model(pos).abs().max().item()
    assert max(float(e.max()) for e in errors.values()) < tolerance * max(scale, 1.0)


def test_vector_output_is_equivariant_and_respects_inversion_symmetry(float64):
    # float64 default dtype: e3nn builds the Wigner D matrices of the check in the default dtype
    torch.manual_seed(3)
    model = EquivariantTetris(irreps_out="1o").double()
    pos, _ = shape_tensor(torch.float64)
    assert_equivariant(model, [pos], irreps_in=["cartesian_points"], irreps_out=["1o"], tolerance=1e-10)
    with torch.no_grad():
        v = model(pos).norm(dim=1)
    # line, square and zigzag have an inversion centre: a vector is forbidden (Curie)
    for name in ("line", "square", "zigzag"):
        assert v[NAMES.index(name)] < 1e-12
    assert v[NAMES.index("T")] > 1e-6


def test_plain_mlp_is_not_invariant():
    torch.manual_seed(4)
    model = PlainMLP().double()
    pos, _ = shape_tensor(torch.float64)
    errors = equivariance_error(model, [pos], irreps_in=["cartesian_points"], irreps_out=["8x0e"], ntrials=2)
    assert max(float(e.max()) for e in errors.values()) > 1e-3


def test_pseudoscalar_flips_sign_and_swaps_the_chiral_logits_under_a_mirror():
    torch.manual_seed(5)
    model = EquivariantTetris().double()
    pos, _ = shape_tensor(torch.float64)
    left = pos[CHIRAL_PAIR[0]]
    Q = random_o3(dtype=torch.float64)
    Q = Q * torch.linalg.det(Q)  # a rotation
    with torch.no_grad():
        out = model(torch.stack([left, left @ Q.T, left @ MIRROR_Y.T]))
        logits = model.logits(torch.stack([left, left @ MIRROR_Y.T]))
        achiral = model(pos[:6])
    p, p_rot, p_mirror = out[:, 7]
    assert abs(p) > 1e-6
    assert torch.isclose(p_rot, p, atol=1e-10) and torch.isclose(p_mirror, -p, atol=1e-10)
    a, b = CHIRAL_PAIR
    assert torch.allclose(logits[0, [a, b]], logits[1, [b, a]], atol=1e-10)
    assert achiral[:, 7].abs().max() < 1e-12  # achiral shapes are their own mirror image


def test_random_copies_and_labels():
    pos, labels = shape_tensor(torch.float64)
    x, y = random_copies(pos, labels, copies=5, mirror=True, translate=1.0,
                         generator=torch.Generator().manual_seed(0))
    assert x.shape == (40, 4, 3) and y.shape == (40,)
    for k in range(40):  # every copy is congruent (O(3)) to its reference, and chirality follows det
        assert superposition_rmsd(x[k], pos[labels[k % 8]], proper=False) < 1e-9
        assert superposition_rmsd(x[k], pos[y[k]], proper=True) < 1e-9
    x1, y1 = make_test_set(3, mirror=True, seed=7)
    x2, y2 = make_test_set(3, mirror=True, seed=7)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert mirror_labels(torch.tensor(CHIRAL_PAIR), torch.tensor([-1.0, -1.0])).tolist() == list(CHIRAL_PAIR[::-1])


def test_bad_input_gives_a_clear_error():
    pos, _ = shape_tensor()
    with pytest.raises(ValueError, match="batch, points, 3"):
        PlainMLP()(pos[0])
    with pytest.raises(ValueError, match="copies"):
        random_copies(pos, torch.arange(8), copies=0)
    with pytest.raises(ValueError, match="7x0e"):
        EquivariantTetris(irreps_out="1o").logits(pos)
