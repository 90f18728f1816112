"""Figures shared by the notebooks: learning curves, parity plots, 3D structures and
signals on the sphere. Matplotlib for static curves, plotly for interactive 3D."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from ase import Atoms
from torch_geometric.data import Data

from .training import History

__all__ = [
    "element_color",
    "density_isosurfaces",
    "parity_plot",
    "plot_history",
    "plot_sphere_signal",
    "sphere_grid",
    "view_structure",
]

def element_color(z: int) -> str:
    """Jmol's colour of element ``z`` (``ase.data.colors.jmol_colors``) as ``#RRGGBB``."""
    from ase.data.colors import jmol_colors

    r, g, b = (int(round(255 * c)) for c in jmol_colors[int(z)])
    return f"#{r:02X}{g:02X}{b:02X}"


def plot_history(history: History, metric: str | None = None, log: bool = True, ax=None):
    """Training and validation curves against epoch (the loss, or ``metric`` if given)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    if metric is None:
        train, valid, label = history.train_loss, history.valid_loss, "loss"
    else:
        if metric not in history.valid_metrics:
            raise KeyError(f"no metric {metric!r}; the history has {sorted(history.valid_metrics)}")
        train, valid, label = history.train_metrics.get(metric, []), history.valid_metrics[metric], metric
    epochs = np.arange(1, len(valid) + 1)
    if train:
        ax.plot(epochs, train, label="train")
    ax.plot(epochs, valid, label="validation")
    if history.best_epoch >= 0:
        ax.axvline(history.best_epoch + 1, color="grey", ls=":", label="best")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(label)
    ax.legend()
    return ax


def parity_plot(y_true, y_pred, label: str = "", unit: str = "", ax=None):
    """Predicted against true values with the y = x line, and the MAE in the title."""
    y_true = np.asarray(torch.as_tensor(y_true).detach().cpu()).ravel()
    y_pred = np.asarray(torch.as_tensor(y_pred).detach().cpu()).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} values but y_pred has {y_pred.size}")
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    lo, hi = float(min(y_true.min(), y_pred.min())), float(max(y_true.max(), y_pred.max()))
    ax.plot([lo, hi], [lo, hi], color="grey", lw=1)
    ax.scatter(y_true, y_pred, s=6, alpha=0.6)
    mae = float(np.abs(y_true - y_pred).mean())
    u = f" [{unit}]" if unit else ""
    ax.set_xlabel(f"true {label}{u}")
    ax.set_ylabel(f"predicted {label}{u}")
    ax.set_title(f"MAE = {mae:.3g} {unit}".strip())
    ax.set_aspect("equal")
    return ax


def view_structure(atoms: Atoms | Data, color_by: Sequence[float] | None = None, title: str = "",
                   bonds: float | None = 1.2, show_cell: bool = True):
    """Interactive 3D view (plotly) of an ``ase.Atoms`` or a graph ``Data``.

    ``color_by`` colours atoms by a per-atom value (e.g. a class or a prediction);
    ``bonds`` draws lines between atoms closer than this factor times the sum of their
    covalent radii (``None`` for no bonds).
    """
    import plotly.graph_objects as go
    from ase.data import covalent_radii

    if isinstance(atoms, Atoms):
        pos, numbers = atoms.get_positions(), atoms.get_atomic_numbers()
        cell = np.asarray(atoms.get_cell()) if atoms.pbc.any() else None
    else:
        pos = np.asarray(atoms.pos.detach().cpu())
        numbers = np.asarray(atoms.z.cpu())
        cell = np.asarray(atoms.cell.view(3, 3).cpu()) if bool(atoms.pbc.any()) else None
    if len(pos) == 0:
        raise ValueError("the structure has no atoms to show")
    traces = []
    if bonds:
        r = covalent_radii[numbers]
        d = np.linalg.norm(pos[:, None] - pos[None], axis=-1)
        i, j = np.nonzero(np.triu(d < bonds * (r[:, None] + r[None]), k=1))
        xs, ys, zs = [], [], []
        for a, b in zip(i, j):
            xs += [pos[a, 0], pos[b, 0], None]
            ys += [pos[a, 1], pos[b, 1], None]
            zs += [pos[a, 2], pos[b, 2], None]
        traces.append(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=dict(color="grey", width=4),
                                   hoverinfo="skip", showlegend=False))
    if show_cell and cell is not None:
        corners = np.array([[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)]) @ cell
        xs, ys, zs = [], [], []
        for m in range(8):
            for n in range(m + 1, 8):
                if (m ^ n).bit_count() == 1:
                    xs += [corners[m, 0], corners[n, 0], None]
                    ys += [corners[m, 1], corners[n, 1], None]
                    zs += [corners[m, 2], corners[n, 2], None]
        traces.append(go.Scatter3d(x=xs, y=ys, z=zs, mode="lines", line=dict(color="black", width=2),
                                   hoverinfo="skip", showlegend=False))
    from ase.data import chemical_symbols

    marker = dict(size=6 + 10 * covalent_radii[numbers] / covalent_radii[numbers].max(),
                  line=dict(color="black", width=1))
    if color_by is not None:
        marker.update(color=np.asarray(color_by), colorscale="Viridis", showscale=True)
    else:
        marker.update(color=[element_color(int(z)) for z in numbers])
    traces.append(go.Scatter3d(x=pos[:, 0], y=pos[:, 1], z=pos[:, 2], mode="markers", marker=marker,
                               text=[f"{chemical_symbols[z]} {k}" for k, z in enumerate(numbers)],
                               hoverinfo="text", showlegend=False))
    fig = go.Figure(traces)
    fig.update_layout(title=title, scene=dict(aspectmode="data"), margin=dict(l=0, r=0, t=30, b=0),
                      height=420)
    return fig


def sphere_grid(n: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors on a (n, 2n) latitude-longitude grid: returns (xyz (n, 2n, 3), theta)."""
    theta = np.linspace(0, np.pi, n)
    phi = np.linspace(0, 2 * np.pi, 2 * n)
    t, p = np.meshgrid(theta, phi, indexing="ij")
    xyz = np.stack([np.sin(t) * np.cos(p), np.sin(t) * np.sin(p), np.cos(t)], axis=-1)
    return xyz, theta


def plot_sphere_signal(signal, n: int = 60, radial: bool = True, title: str = "",
                       irreps: str | None = None):
    """Interactive 3D plot (plotly) of a function on the sphere.

    ``signal`` is either a callable mapping unit vectors (M, 3) (torch) to values (M,),
    or coefficients (irreps.dim,) of real spherical harmonics with ``irreps`` given
    (e3nn's component normalisation). With ``radial=True`` the surface radius is
    ``|f|`` (the familiar lobes); otherwise a unit sphere coloured by ``f``.
    """
    import plotly.graph_objects as go
    from e3nn import o3

    xyz, _ = sphere_grid(n)
    pts = torch.as_tensor(xyz.reshape(-1, 3), dtype=torch.get_default_dtype())
    if callable(signal):
        values = signal(pts)
    else:
        if irreps is None:
            raise ValueError("give irreps=... to plot spherical-harmonic coefficients")
        ir = o3.Irreps(irreps)
        coeffs = torch.as_tensor(signal, dtype=pts.dtype)
        if coeffs.shape != (ir.dim,):
            raise ValueError(f"coefficients have shape {tuple(coeffs.shape)}, irreps {ir} need ({ir.dim},)")
        # one block of harmonics per copy of each irrep, in the order of ``irreps``
        Y = torch.cat([o3.spherical_harmonics(l, pts, normalize=True, normalization="component") for mul, (l, _) in ir
                       for _ in range(mul)], dim=1)
        values = Y @ coeffs
    f = np.asarray(torch.as_tensor(values).detach().cpu(), dtype=float).reshape(xyz.shape[:2])
    r = np.abs(f) if radial else np.ones_like(f)
    surf = go.Surface(x=r * xyz[..., 0], y=r * xyz[..., 1], z=r * xyz[..., 2], surfacecolor=f,
                      colorscale="RdBu_r", cmid=0.0, showscale=True)
    fig = go.Figure(surf)
    fig.update_layout(title=title, scene=dict(aspectmode="data"), margin=dict(l=0, r=0, t=30, b=0),
                      height=420)
    return fig


def density_isosurfaces(positions: torch.Tensor, numbers: Sequence[int], dft, predicted, level: float = 0.05,
                        diff_level: float | None = None, n: int = 30, margin: float = 2.0):
    """Three plotly isosurface panels: the DFT density, the predicted density (both at ``level``
    e/Å^3) and their difference (predicted - DFT) at ``+-diff_level`` (default ``level / 10``; red:
    too much charge, blue: too little). ``dft`` and ``predicted`` map points (M, 3) Å to densities
    (M,) e/Å^3; they are evaluated on a box of cubic voxels around the atoms (``margin`` Å), ``n``
    points along its longest side. Coordinates are stored as voxel indices (uint8) and values as
    float32, which keeps a notebook that shows the figure small (under 1 MB for n = 30)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    pos = torch.as_tensor(positions, dtype=torch.float64)
    if not 8 <= n <= 255:
        raise ValueError(f"n = {n} points per side: use 8 to 255 (about 30 is a good start)")
    diff_level = level / 10 if diff_level is None else diff_level
    lo, hi = pos.min(0).values - margin, pos.max(0).values + margin
    h = float((hi - lo).max()) / (n - 1)  # Å per voxel, the same along every axis
    counts = [int(np.ceil(float(hi[i] - lo[i]) / h)) + 1 for i in range(3)]
    index = torch.stack(torch.meshgrid(*[torch.arange(c) for c in counts], indexing="ij"), -1).reshape(-1, 3)
    grid = lo + h * index.to(torch.float64)
    with torch.no_grad():
        rho_dft = torch.as_tensor(dft(grid)).double().numpy()
        rho_pred = torch.as_tensor(predicted(grid)).double().numpy()
    x, y, z = (index[:, i].numpy().astype(np.uint8) for i in range(3))
    titles = (f"DFT, {level} e/Å³", f"predicted, {level} e/Å³", f"predicted - DFT, ±{diff_level:g} e/Å³")
    fig = make_subplots(rows=1, cols=3, specs=[[{"type": "scene"}] * 3], subplot_titles=titles)
    common = dict(x=x, y=y, z=z, showscale=False, caps=dict(x_show=False, y_show=False, z_show=False))
    for col, values, lo_v, hi_v, count, scale in [
            (1, rho_dft, level, level, 1, [[0, "#4c72b0"], [1, "#4c72b0"]]),
            (2, rho_pred, level, level, 1, [[0, "#55a868"], [1, "#55a868"]]),
            (3, rho_pred - rho_dft, -diff_level, diff_level, 2, [[0, "blue"], [1, "red"]])]:
        fig.add_trace(go.Isosurface(value=values.astype(np.float32), isomin=lo_v, isomax=hi_v, surface_count=count,
                                    colorscale=scale, opacity=0.5, **common), 1, col)
    p = ((pos - lo) / h).numpy().astype(np.float32)  # atoms in voxel units
    colors = [element_color(int(zz)) for zz in numbers]
    for col in (1, 2, 3):
        fig.add_trace(go.Scatter3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], mode="markers", showlegend=False,
                                   marker=dict(size=4, color=colors, line=dict(color="black", width=1))), 1, col)
    fig.update_scenes(aspectmode="data", xaxis_visible=False, yaxis_visible=False, zaxis_visible=False)
    fig.update_layout(height=400, margin=dict(l=0, r=0, t=40, b=0))
    return fig
