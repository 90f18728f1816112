"""Symmetry breaking (tutorial_utils.lessons.symmetry_breaking, notebook 01): the deformer is
E(3)-equivariant once its order parameter phi is transformed with the input; without phi it
cannot lower the square's symmetry; the point groups it is judged by are right."""

import pytest
import torch
from e3nn.util.test import assert_equivariant

from tutorial_utils.lessons.symmetry_breaking import (
    IRREPS_PHI,
    Deformer,
    best_square_loss,
    fit_deformer,
    rectangle,
    square,
)
from tutorial_utils.symmetry import default_dtype, point_group_of_points, random_o3


def small(irreps_phi=IRREPS_PHI) -> Deformer:
    torch.manual_seed(0)
    return Deformer(irreps_phi, mul=2, num_layers=2)


def test_deformer_without_phi_is_equivariant_on_random_points():
    model = small(None)
    with default_dtype(torch.float64):
        assert_equivariant(model, args_in=[torch.randn(5, 3, dtype=torch.float64)],
                           irreps_in=["cartesian_points"], irreps_out=["1o"], tolerance=1e-9)


def test_deformer_with_phi_is_equivariant_when_phi_turns_with_the_input():
    model = small()
    with torch.no_grad():
        model.phi.copy_(torch.randn(model.irreps_phi.dim, dtype=torch.float64))
    pos = torch.randn(4, 3, dtype=torch.float64)
    out = model(pos)
    phi = model.phi.detach().clone()
    for Q in random_o3(6, dtype=torch.float64):
        with default_dtype(torch.float64):
            D = model.irreps_phi.D_from_matrix(Q)
        with torch.no_grad():
            model.phi.copy_(D @ phi)
        turned = model(pos @ Q.T + torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64))
        assert (turned - out @ Q.T).abs().max() < 1e-9
    # and a fixed nonzero phi is NOT equivariant in the points alone: the test can fail
    with torch.no_grad():
        model.phi.copy_(phi)
    Q = random_o3(dtype=torch.float64)
    assert (model(pos @ Q.T) - out @ Q.T).abs().max() > 1e-6


def test_without_phi_a_square_stays_a_square():
    model = small(None)
    start = square()
    corners = (start + model(start)).detach()
    radial = corners[:, :2] / start[:, :2]               # each corner moves along its diagonal
    assert (radial - radial[0, 0]).abs().max() < 1e-12 and corners[:, 2].abs().max() < 1e-12


def test_fit_without_phi_cannot_go_below_the_square_floor_but_with_phi_it_can():
    a, b = 0.7, 0.4
    floor = best_square_loss(a, b)
    assert floor == pytest.approx(2 * 0.15**2 / 3)
    log = fit_deformer(small(None), square(), rectangle(a, b), steps=60)
    assert min(log["loss"]) >= floor - 1e-12
    log = fit_deformer(small(), square(), rectangle(a, b), steps=60)
    assert log["loss"][-1] < 0.9 * floor   # below what any square can reach


def test_point_groups_of_square_and_rectangle():
    symbol, group = point_group_of_points(square())
    assert symbol == "D4h" and len(group) == 16
    symbol, group = point_group_of_points(rectangle(0.7, 0.4))
    assert symbol == "D2h" and len(group) == 8
    assert torch.allclose(group.transpose(1, 2) @ group, torch.eye(3, dtype=torch.float64).expand(8, 3, 3))


def test_bad_input_is_refused_clearly():
    with pytest.raises(ValueError, match="half-sides"):
        rectangle(-1.0, 0.5)
    with pytest.raises(ValueError, match=r"shape \(N, 3\)"):
        small()(torch.zeros(4, 2, dtype=torch.float64))
    with pytest.raises(ValueError, match="steps must be at least 1"):
        fit_deformer(small(), square(), rectangle(0.7, 0.4), steps=0)
    with pytest.raises(ValueError, match=r"positions must have shape \(N, 3\)"):
        point_group_of_points([[0.0, 1.0]])
    with pytest.raises(ValueError, match="3 numbers for 4 positions"):
        point_group_of_points(square(), numbers=[1, 1, 1])
