"""The shared figures build without error and show what they claim."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from ase.build import bulk, molecule  # noqa: E402

from tutorial_utils.graphs import atoms_to_data  # noqa: E402
from tutorial_utils.plotting import parity_plot, plot_history, plot_sphere_signal, view_structure  # noqa: E402
from tutorial_utils.training import History  # noqa: E402


def test_history_and_parity_plot():
    h = History(train_loss=[1.0, 0.5, 0.3], valid_loss=[1.1, 0.6, 0.7], best_epoch=1,
                valid_metrics={"mae": [1.0, 0.5, 0.6]}, train_metrics={"mae": [1.0, 0.4, 0.3]})
    ax = plot_history(h)
    assert len(ax.lines) == 3
    plot_history(h, metric="mae")
    with pytest.raises(KeyError, match="no metric 'rmse'"):
        plot_history(h, metric="rmse")
    ax = parity_plot([1.0, 2.0, 3.0], [1.5, 2.0, 2.5], label="E", unit="eV")
    assert "0.333" in ax.get_title()
    with pytest.raises(ValueError, match="3 values but y_pred has 2"):
        parity_plot([1, 2, 3], [1, 2])


def test_view_structure_molecule_crystal_and_graph():
    fig = view_structure(molecule("H2O"))
    assert len(fig.data[-1].x) == 3 and len(fig.data) == 2  # bonds + atoms
    fig = view_structure(bulk("Cu", "fcc", a=3.6, cubic=True), color_by=np.arange(4))
    assert len(fig.data) == 3  # bonds + cell + atoms
    fig = view_structure(atoms_to_data(molecule("CH4"), r_max=2.0), bonds=None)
    assert len(fig.data) == 1


def test_sphere_signal_from_function_and_coefficients():
    fig = plot_sphere_signal(lambda x: x[:, 2], n=20)
    r = np.sqrt(fig.data[0].x ** 2 + fig.data[0].y ** 2 + fig.data[0].z ** 2)
    assert np.allclose(r, np.abs(np.cos(np.linspace(0, np.pi, 20)))[:, None], atol=1e-6)
    fig = plot_sphere_signal(torch.tensor([1.0, 0.0, 0.0, 0.0]), irreps="0e + 1o", n=10)
    assert np.allclose(fig.data[0].surfacecolor, 1.0)
    with pytest.raises(ValueError, match="irreps 1x0e\\+1x1o need \\(4,\\)"):
        plot_sphere_signal(torch.ones(3), irreps="0e + 1o")


def test_density_isosurfaces_panels_and_bad_input():
    import pytest
    import torch

    from tutorial_utils.plotting import density_isosurfaces

    pos = torch.tensor([[0.0, 0.0, 0.0], [0.96, 0.0, 0.0], [-0.24, 0.93, 0.0]], dtype=torch.float64)

    def gauss(x, width):
        return torch.exp(-(torch.cdist(x, pos) ** 2) / width).sum(-1)

    fig = density_isosurfaces(pos, [8, 1, 1], lambda x: gauss(x, 0.5), lambda x: gauss(x, 0.55), n=12)
    kinds = [t.type for t in fig.data]
    assert kinds.count("isosurface") == 3 and kinds.count("scatter3d") == 3
    iso = [t for t in fig.data if t.type == "isosurface"]
    assert iso[2].isomin == -iso[2].isomax  # the difference panel: +- diff_level
    assert int(max(iso[0].x)) <= 255  # voxel indices, stored compactly
    with pytest.raises(ValueError, match="points per side"):
        density_isosurfaces(pos, [8, 1, 1], lambda x: gauss(x, 0.5), lambda x: gauss(x, 0.5), n=4)
