"""The shared toolkit (tutorial_utils.nn): one interaction block that every model uses, the
backbone's shapes, equivariance and errors, the scatter helpers, the species one-hot."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from ase.build import molecule
from e3nn import o3

from tutorial_utils.graphs import atoms_to_data
from tutorial_utils.nn import EquivariantBackbone, InteractionBlock, SpeciesOneHot, scatter_mean, scatter_sum
from tutorial_utils.symmetry import assert_equivariant, default_dtype

PACKAGE = Path(__file__).resolve().parents[1] / "tutorial_utils"


def test_one_interaction_block_class_in_the_package():
    """Every model is built from nn.InteractionBlock: no other module defines a block of its own."""
    defined = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ClassDef) and "Interaction" in node.name:
                defined.append(f"{path.relative_to(PACKAGE)}:{node.name}")
    assert defined == ["nn/interaction.py:InteractionBlock"], defined
    from tutorial_utils.density_model import DensityModel
    from tutorial_utils.phonons import PhononDoSNet
    from tutorial_utils.potential import EquivariantPotential

    assert all(issubclass(m, EquivariantBackbone) for m in (EquivariantPotential, DensityModel, PhononDoSNet))


def _graph():
    data = atoms_to_data(molecule("CH3CH2OH"), r_max=3.0)
    data.pos = data.pos.double()
    return data


def test_backbone_features_are_equivariant_with_their_irreps():
    with default_dtype(torch.float64):
        torch.manual_seed(0)
        net = EquivariantBackbone(3, 3, "8x0e + 4x1o + 2x2e", r_max=3.0, l_max_sh=2, num_layers=2)
        species = SpeciesOneHot([1, 6, 8])
        data = _graph()
        onehot = species(data.z, torch.float64)
        h = net.features(data, onehot, onehot)
        assert h.shape == (9, net.irreps_out.dim) and net.irreps_out == o3.Irreps("8x0e + 4x1o + 2x2e")

        assert assert_equivariant(lambda d: net.features(d, onehot, onehot), data, net.irreps_out) < 1e-9


def test_backbone_last_layer_and_bad_settings():
    net = EquivariantBackbone(4, 1, "8x0e + 8x0o + 2x1o + 2x1e", r_max=3.0, l_max_sh=1, num_layers=2,
                              irreps_last="8x0e", embedding_bias=True)
    assert net.irreps_out == o3.Irreps("8x0e") and [str(b.irreps_out) for b in net.blocks][0] != "8x0e"
    with pytest.raises(ValueError, match="0e channels"):
        EquivariantBackbone(3, 3, "4x1o", r_max=3.0, l_max_sh=1, num_layers=1)
    with pytest.raises(ValueError, match="r_max > 0"):
        EquivariantBackbone(3, 3, "4x0e", r_max=0.0, l_max_sh=1, num_layers=1)
    data = atoms_to_data(molecule("H2O"), r_max=2.0)
    with pytest.raises(ValueError, match="rebuild it with r_max=3.0"):
        net.check_graph(data)


def test_species_one_hot_and_its_errors():
    species = SpeciesOneHot([8, 1, 1])
    assert species.species == [1, 8]
    assert species(torch.tensor([8, 1, 8])).tolist() == [[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]
    with pytest.raises(ValueError, match=r"built for species \[1, 8\].*\[6\]"):
        species(torch.tensor([6]))
    with pytest.raises(ValueError, match="between 1 and 118"):
        species(torch.tensor([0]))
    with pytest.raises(ValueError, match="between 1 and 118"):
        SpeciesOneHot([])


def test_scatter_sum_and_mean():
    src = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    index = torch.tensor([0, 2, 0])
    assert scatter_sum(src, index, 3).tolist() == [[6.0, 8.0], [0.0, 0.0], [3.0, 4.0]]
    assert scatter_mean(src, index, 3).tolist() == [[3.0, 4.0], [0.0, 0.0], [3.0, 4.0]]
    assert scatter_mean(torch.tensor([2.0, 4.0]), torch.tensor([1, 1]), 2).tolist() == [0.0, 3.0]


def test_interaction_block_keeps_its_normalisation_in_the_state_dict():
    block = InteractionBlock(o3.Irreps("4x0e"), o3.Irreps("4x0e + 2x1o"), o3.Irreps("1x0e + 1x1o"), 2, 4, 8, 7.5)
    assert float(block.state_dict()["avg_num_neighbors"]) == 7.5
