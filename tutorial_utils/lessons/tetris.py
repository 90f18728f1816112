"""3D Tetris: eight shapes of four unit cubes, and three classifiers that see them differently.

The shapes are the toy problem of notebook 01. Each is four points (the cube centres, in
units of the cube edge) in a fixed order; a batch is a tensor ``pos`` of shape (B, 4, 3).
Two of the shapes, ``chiral_left`` and ``chiral_right``, are mirror images of each other
that no rotation can superimpose.

The three models all map ``pos`` (B, 4, 3) to class logits (B, 8):

* :class:`PlainMLP` – a multilayer perceptron on the (centred) raw coordinates;
* :class:`DistanceMLP` – the same kind of network on the six sorted pairwise distances
  (invariant under rotations, translations, mirror images and relabelling of the cubes);
* :class:`EquivariantTetris` – a small e3nn message-passing network whose output is
  ``7x0e + 1x0o``: seven scalars and one pseudoscalar that changes sign under a mirror.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from e3nn import o3
from e3nn.nn import Gate

from ..symmetry import kabsch_rotation

__all__ = [
    "CHIRAL_PAIR",
    "SHAPES",
    "DistanceMLP",
    "EquivariantTetris",
    "PlainMLP",
    "accuracy",
    "check_pos",
    "make_test_set",
    "mirror_labels",
    "pairwise_distances",
    "plot_shapes",
    "random_copies",
    "same_points",
    "shape_tensor",
    "superposition_rmsd",
    "train_classifier",
]

# Cube centres in units of the cube edge. Every shape is four face-connected cubes.
SHAPES: dict[str, list[tuple[int, int, int]]] = {
    "line": [(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 0, 3)],
    "square": [(0, 0, 0), (1, 0, 0), (0, 1, 0), (1, 1, 0)],
    "L": [(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 0)],
    "T": [(0, 0, 0), (0, 0, 1), (0, 0, 2), (0, 1, 1)],
    "zigzag": [(0, 0, 0), (1, 0, 0), (1, 1, 0), (2, 1, 0)],
    "tripod": [(0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1)],
    "chiral_left": [(0, 0, 0), (0, 0, 1), (1, 0, 0), (1, 1, 0)],
    "chiral_right": [(0, 0, 0), (0, 0, 1), (1, 0, 0), (1, -1, 0)],
}
NAMES: list[str] = list(SHAPES)
CHIRAL_PAIR: tuple[int, int] = (NAMES.index("chiral_left"), NAMES.index("chiral_right"))


def shape_tensor(dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All eight shapes in their reference orientation: ``pos`` (8, 4, 3) and labels (8,)."""
    pos = torch.tensor([SHAPES[n] for n in NAMES], dtype=dtype or torch.get_default_dtype())
    return pos, torch.arange(len(NAMES))


def check_pos(pos: torch.Tensor) -> None:
    """Raise a clear error unless ``pos`` is a float tensor of shape (B, N, 3)."""
    if not isinstance(pos, torch.Tensor) or pos.dim() != 3 or pos.shape[-1] != 3:
        shape = tuple(pos.shape) if isinstance(pos, torch.Tensor) else type(pos).__name__
        raise ValueError(f"pos must be a tensor of shape (batch, points, 3); got {shape}. "
                         "Add a batch dimension with pos[None] for a single shape.")
    if not pos.is_floating_point():
        raise ValueError(f"pos must be a float tensor, got {pos.dtype}; use pos.float()")


def mirror_labels(labels: torch.Tensor, det: torch.Tensor) -> torch.Tensor:
    """Labels after applying O(3) elements with determinant ``det`` (B,): a mirror image
    (det = -1) of one chiral shape is the other one; every other shape is its own mirror image."""
    left, right = CHIRAL_PAIR
    out = labels.clone()
    flip = det < 0
    out[flip & (labels == left)] = right
    out[flip & (labels == right)] = left
    return out


def random_copies(pos: torch.Tensor, labels: torch.Tensor, copies: int, mirror: bool = False,
                  translate: float = 0.0, generator: torch.Generator | None = None
                  ) -> tuple[torch.Tensor, torch.Tensor]:
    """``copies`` randomly moved copies of every shape: (B*copies, N, 3) and their labels.

    Each copy is rotated by a Haar-random rotation; with ``mirror=True`` half of them
    (at random) are also inverted (a random element of O(3)), and the labels of the chiral
    pair are swapped for those. ``translate`` is the standard deviation of a random shift
    (in cube edges).
    """
    check_pos(pos)
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    B = pos.shape[0]
    R = o3.rand_matrix(B * copies, dtype=pos.dtype) if generator is None else _rand_matrix(B * copies,
                                                                                         pos.dtype, generator)
    det = torch.ones(B * copies, dtype=pos.dtype)
    if mirror:
        det = torch.where(torch.rand(B * copies, generator=generator) < 0.5, -1.0, 1.0).to(pos.dtype)
    Q = R * det[:, None, None]
    x = pos.repeat(copies, 1, 1)
    y = labels.repeat(copies)
    x = torch.einsum("bij,bnj->bni", Q, x)
    if translate:
        x = x + translate * torch.randn(B * copies, 1, 3, generator=generator, dtype=pos.dtype)
    return x, mirror_labels(y, det)


def _rand_matrix(n: int, dtype: torch.dtype, generator: torch.Generator) -> torch.Tensor:
    """Haar-random rotations from a given generator (normalised random quaternions)."""
    q = torch.randn(n, 4, generator=generator, dtype=dtype)
    q = q / q.norm(dim=1, keepdim=True)
    return o3.quaternion_to_matrix(q)


def make_test_set(copies: int, mirror: bool, seed: int = 1234,
                  dtype: torch.dtype | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """A reproducible test set: every shape rotated (and, with ``mirror``, possibly inverted)
    ``copies`` times and shifted by a random translation of 3 cube edges (standard deviation)."""
    g = torch.Generator().manual_seed(seed)
    pos, labels = shape_tensor(dtype)
    return random_copies(pos, labels, copies, mirror=mirror, translate=3.0, generator=g)


def pairwise_distances(pos: torch.Tensor) -> torch.Tensor:
    """The N(N-1)/2 distances between the points of each shape, sorted: (B, N(N-1)/2)."""
    check_pos(pos)
    i, j = torch.triu_indices(pos.shape[1], pos.shape[1], offset=1)
    d = (pos[:, i] - pos[:, j]).norm(dim=-1)
    return d.sort(dim=-1).values


def same_points(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-6) -> bool:
    """True when the point sets ``a`` and ``b`` (N, 3) are equal up to the order of the points."""
    if a.shape != b.shape:
        return False
    d = torch.cdist(a.to(torch.float64), b.to(torch.float64))
    return bool((d.min(dim=1).values < atol).all() and (d.min(dim=0).values < atol).all())


def superposition_rmsd(a: torch.Tensor, b: torch.Tensor, proper: bool = True) -> float:
    """Smallest RMSD between point sets ``a`` and ``b`` (N, 3) over every relabelling of the
    points, every translation and every rotation (``proper=True``) or every O(3) element
    (``proper=False``, mirror images allowed). Zero means the shapes are congruent.

    Uses the Kabsch algorithm (SVD of the covariance) for each of the N! relabellings.
    """
    import itertools

    if a.shape != b.shape or a.dim() != 2 or a.shape[1] != 3:
        raise ValueError(f"need two point sets of the same shape (N, 3); got {tuple(a.shape)} and {tuple(b.shape)}")
    a = a.to(torch.float64) - a.to(torch.float64).mean(dim=0)
    b = b.to(torch.float64) - b.to(torch.float64).mean(dim=0)
    best = float("inf")
    for perm in itertools.permutations(range(len(b))):
        bp = b[list(perm)]
        Q = torch.as_tensor(kabsch_rotation(a.numpy(), bp.numpy(), proper=proper))
        best = min(best, float(((a @ Q.T - bp) ** 2).sum(dim=1).mean().sqrt()))
    return best


def _mlp(n_in: int, hidden: int, n_out: int) -> torch.nn.Sequential:
    return torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.SiLU(),
                               torch.nn.Linear(hidden, hidden), torch.nn.SiLU(),
                               torch.nn.Linear(hidden, n_out))


class PlainMLP(torch.nn.Module):
    """An MLP on the 12 raw coordinates of the four cubes, after removing the centre.

    Subtracting the centroid makes it blind to translations (exactly); nothing makes it
    blind to rotations: it has to learn them from data. pos (B, 4, 3) -> logits (B, 8).
    """

    def __init__(self, hidden: int = 128, n_points: int = 4, n_classes: int = 8) -> None:
        super().__init__()
        self.net = _mlp(3 * n_points, hidden, n_classes)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        check_pos(pos)
        x = pos - pos.mean(dim=1, keepdim=True)
        return self.net(x.flatten(1))


class DistanceMLP(torch.nn.Module):
    """An MLP on the sorted list of pairwise distances: invariant by construction.

    Distances do not change under rotations, translations or mirror images, and sorting
    them forgets the order of the cubes. pos (B, 4, 3) -> logits (B, 8).
    """

    def __init__(self, hidden: int = 64, n_points: int = 4, n_classes: int = 8) -> None:
        super().__init__()
        self.net = _mlp(n_points * (n_points - 1) // 2, hidden, n_classes)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        return self.net(pairwise_distances(pos))


class EquivariantTetris(torch.nn.Module):
    """A small E(3)-equivariant message-passing network (e3nn) on the cube-neighbour graph.

    Each cube is a node; two cubes are neighbours when their centres are closer than
    ``r_max`` (1.1 edges: face-sharing cubes). A layer sends along each edge i <- j the
    tensor product of the neighbour's features h_j with the spherical harmonics Y(r_ij)
    of the edge direction (l = 0..l_max), sums the messages at i and applies a gated
    nonlinearity. The final layer's node outputs are summed over the shape.

    pos (B, N, 3) -> ``irreps_out`` features (B, irreps_out.dim). For classification use
    ``irreps_out = "7x0e + 1x0o"`` and :meth:`logits`: the two chiral classes share a
    scalar and get + and - the pseudoscalar, so a mirror image swaps them.
    """

    def __init__(self, irreps_out: str = "7x0e + 1x0o", l_max: int = 1, mul: int = 8,
                 num_layers: int = 3, r_max: float = 1.1) -> None:
        super().__init__()
        self.irreps_out = o3.Irreps(irreps_out)
        self.irreps_sh = o3.Irreps.spherical_harmonics(l_max)
        self.r_max = r_max
        irreps = o3.Irreps("0e")  # every node starts with the same scalar, 1
        self.tps, self.gates = torch.nn.ModuleList(), torch.nn.ModuleList()
        for _ in range(num_layers - 1):
            gated = o3.Irreps([(mul, (l, p)) for l in range(1, l_max + 1) for p in (1, -1)])
            gate = Gate(f"{mul}x0e + {mul}x0o", [torch.nn.functional.silu, torch.tanh],
                        f"{gated.num_irreps}x0e", [torch.sigmoid], gated)
            self.tps.append(o3.FullyConnectedTensorProduct(irreps, self.irreps_sh, gate.irreps_in))
            self.gates.append(gate)
            irreps = gate.irreps_out
        self.tp_out = o3.FullyConnectedTensorProduct(irreps, self.irreps_sh, self.irreps_out)

    def _convolve(self, tp: o3.TensorProduct, h: torch.Tensor, sh: torch.Tensor,
                  mask: torch.Tensor) -> torch.Tensor:
        """Messages tp(h_j, Y(r_ij)) (B, N, N, dim) summed over neighbours j: (B, N, dim)."""
        B, N, _ = h.shape
        h_j = h[:, None, :, :].expand(B, N, N, h.shape[-1])
        messages = tp(h_j, sh) * mask[..., None]
        return messages.sum(dim=2) / 2**0.5  # about 1.5 neighbours per cube

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        check_pos(pos)
        B, N, _ = pos.shape
        edge_vec = pos[:, None, :, :] - pos[:, :, None, :]  # [b, i, j] = r_j - r_i
        dist = edge_vec.norm(dim=-1)
        mask = ((dist < self.r_max) & ~torch.eye(N, dtype=torch.bool, device=pos.device)).to(pos.dtype)
        # no direction for i == j or non-neighbours: give them a dummy one, masked out above
        safe_vec = torch.where(mask[..., None] > 0, edge_vec, torch.ones_like(edge_vec))
        sh = o3.spherical_harmonics(self.irreps_sh, safe_vec, normalize=True, normalization="component")
        h = pos.new_ones(B, N, 1)
        for tp, gate in zip(self.tps, self.gates):
            h = gate(self._convolve(tp, h, sh, mask))
        return self._convolve(self.tp_out, h, sh, mask).sum(dim=1)

    def logits(self, pos: torch.Tensor) -> torch.Tensor:
        """Class logits (B, 8) from the ``7x0e + 1x0o`` output: the six achiral classes take
        one scalar each; the chiral pair takes (scalar + pseudoscalar, scalar - pseudoscalar)."""
        if self.irreps_out != o3.Irreps("7x0e + 1x0o"):
            raise ValueError(f"logits need irreps_out = 7x0e + 1x0o, this model has {self.irreps_out}")
        out = self.forward(pos)
        achiral, chiral, pseudo = out[:, :6], out[:, 6:7], out[:, 7:8]
        return torch.cat([achiral, chiral + pseudo, chiral - pseudo], dim=1)


def accuracy(logit_fn: Callable[[torch.Tensor], torch.Tensor], pos: torch.Tensor,
             labels: torch.Tensor) -> float:
    """Fraction of shapes whose largest logit is the right class."""
    with torch.no_grad():
        return float((logit_fn(pos).argmax(dim=1) == labels).double().mean())


def _owner(logit_fn: Callable[[torch.Tensor], torch.Tensor]) -> torch.nn.Module | None:
    """The module behind ``logit_fn``: the module itself, or the owner of a bound method such as
    ``model.logits``; ``None`` for a plain function."""
    if isinstance(logit_fn, torch.nn.Module):
        return logit_fn
    owner = getattr(logit_fn, "__self__", None)
    return owner if isinstance(owner, torch.nn.Module) else None


def train_classifier(logit_fn: Callable[[torch.Tensor], torch.Tensor], params, pos: torch.Tensor,
                     labels: torch.Tensor, steps: int, lr: float = 3e-3, batch_size: int = 256,
                     seed: int = 0, device: torch.device | str | None = None) -> dict[str, float]:
    """Minimise the cross-entropy of ``logit_fn(pos)`` with Adam for ``steps`` mini-batches.

    With ``device`` the module behind ``logit_fn`` (the model, or the owner of a method such as
    ``model.logits``) and the shapes train there, and the model is moved back to the device
    ``pos`` came on afterwards, so the notebook's checks keep working on its tensors.
    Returns ``{"seconds": wall time, "samples": shapes seen, "loss": final batch loss}``.
    """
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    home = pos.device
    module = _owner(logit_fn)
    if device is not None:
        if module is None:
            raise TypeError("train_classifier can move only a torch module (or a method of one) to a device; "
                            "pass the model, or leave device=None")
        module.to(device)
        pos, labels = pos.to(device), labels.to(device)
    params = list(params)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(params, lr=lr)
    n = pos.shape[0]
    t0, seen, loss = time.perf_counter(), 0, torch.tensor(0.0)
    for _ in range(steps):
        idx = torch.randint(n, (min(batch_size, n),), generator=g) if n > batch_size else torch.arange(n)
        idx = idx.to(pos.device)
        loss = torch.nn.functional.cross_entropy(logit_fn(pos[idx]), labels[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        seen += len(idx)
    result = {"seconds": time.perf_counter() - t0, "samples": float(seen), "loss": float(loss.detach())}
    if device is not None and module is not None:
        module.to(home)
    return result


# The 8 corners of a unit cube around its centre and its 12 triangles (as vertex indices).
_CORNERS = torch.tensor([[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)])
_TRIANGLES = [(0, 1, 3), (0, 3, 2), (4, 6, 7), (4, 7, 5), (0, 4, 5), (0, 5, 1),
              (2, 3, 7), (2, 7, 6), (0, 2, 6), (0, 6, 4), (1, 5, 7), (1, 7, 3)]


def plot_shapes(items: list[tuple[str | torch.Tensor, torch.Tensor | None, torch.Tensor | None]], title: str = "",
                spacing: float = 4.5, per_row: int = 4):
    """Interactive 3D view (plotly) of Tetris shapes drawn as cubes.

    ``items`` is a list of ``(shape, Q, t)``: the shape ``SHAPES[shape]`` (or, for a tensor,
    cubes at those (N, 3) centres, drawn in grey), moved by the O(3)
    element ``Q`` (3, 3) (``None``: unchanged) about its centre, then by ``t`` (3,) in cube edges
    (``None``: placed on a grid, ``per_row`` shapes per row, ``spacing`` edges apart).
    A mirrored copy (det Q = -1) is drawn in a lighter colour.
    """
    import plotly.graph_objects as go

    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    traces = []
    for k, (name, Q, t) in enumerate(items):
        if isinstance(name, torch.Tensor):
            centres, name, color = name.detach().to(torch.float64), "", "#999999"
        elif name in SHAPES:
            centres, color = torch.tensor(SHAPES[name], dtype=torch.float64), palette[NAMES.index(name)]
        else:
            raise KeyError(f"unknown shape {name!r}; choose from {NAMES} or give cube centres (N, 3)")
        centres = centres - centres.mean(dim=0)
        Q = torch.eye(3, dtype=torch.float64) if Q is None else Q.to(torch.float64)
        if t is None:
            t = torch.tensor([spacing * (k % per_row), -spacing * (k // per_row), 0.0], dtype=torch.float64)
        verts = ((centres[:, None, :] + _CORNERS.to(torch.float64)[None]) @ Q.T + t.to(torch.float64)).reshape(-1, 3)
        tri = torch.tensor([[a + 8 * c, b + 8 * c, d + 8 * c] for c in range(len(centres))
                            for a, b, d in _TRIANGLES])
        mirrored = bool(torch.linalg.det(Q) < 0)
        traces.append(go.Mesh3d(x=verts[:, 0], y=verts[:, 1], z=verts[:, 2], i=tri[:, 0], j=tri[:, 1],
                                k=tri[:, 2], color=color, flatshading=True,
                                opacity=0.55 if mirrored else 1.0,
                                name=name + (" (mirrored)" if mirrored else ""), hoverinfo="name"))
        top = verts[:, 2].max().item() + 0.8
        traces.append(go.Scatter3d(x=[verts[:, 0].mean().item()], y=[verts[:, 1].mean().item()], z=[top],
                                   mode="text", text=[name + (" (mirror)" if mirrored else "")],
                                   showlegend=False, hoverinfo="skip"))
    fig = go.Figure(traces)
    fig.update_layout(title=title, scene=dict(aspectmode="data", xaxis_visible=False, yaxis_visible=False,
                                              zaxis_visible=False),
                      margin=dict(l=0, r=0, t=30, b=0), height=450, showlegend=False)
    return fig
