"""The GPU path cannot rot on a CPU-only CI (issue 21).

* Statically: every call a notebook makes to a function or class of ``tutorial_utils`` (or to
  SevenNet's calculator) that takes a ``device`` argument passes it, as the ``device`` that
  ``setup()`` returned, never a literal such as ``"cpu"``.
* The training, prediction and calculator entry points all take ``device``.
* At run time: each entry point really moves the model and the batches to the device it is
  given (recorded by wrapping ``Module.to`` and ``Data.to``), and the helpers ``move_model``,
  ``move_data`` and ``cpu_threads`` do what they say.
"""

from __future__ import annotations

import ast
import importlib
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import torch
from torch_geometric.data import Data

from tutorial_utils.runtime import cpu_threads, move_data, move_model

from .notebook_files import ROOT

SOURCES = sorted((ROOT / "notebooks" / "src").glob("[0-9][0-9]_*.py"))
RESOLVED_PACKAGES = ("tutorial_utils", "sevenn")

#: The entry points that train, predict or calculate: each must take ``device``.
ENTRY_POINTS = [
    "tutorial_utils.training:train", "tutorial_utils.training:evaluate",
    "tutorial_utils.potential:train_potential", "tutorial_utils.potential:predict",
    "tutorial_utils.potential:pretrained", "tutorial_utils.potential:EquivariantCalculator",
    "tutorial_utils.potential:held_out_errors", "tutorial_utils.potential.recipe:mean_absolute_errors",
    "tutorial_utils.density_model:train_density_model", "tutorial_utils.density_model:predict_coefficients",
    "tutorial_utils.density_model:pretrained", "tutorial_utils.density_model:held_out_errors",
    "tutorial_utils.phonons:train_dos_model", "tutorial_utils.phonons:predict_dos",
    "tutorial_utils.phonons:pretrained", "tutorial_utils.phonons:fit_protocol",
    "tutorial_utils.tensor_properties:train_model", "tutorial_utils.tensor_properties:predict_dielectric",
    "tutorial_utils.tensor_properties:predict_elastic", "tutorial_utils.tensor_properties:pretrained",
    "tutorial_utils.lessons.tetris:train_classifier", "tutorial_utils.lessons.symmetry_breaking:fit_deformer",
]


def resolve(target: str):
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def imported_objects(tree: ast.Module) -> dict[str, object]:
    """Local name -> object for every ``from tutorial_utils... import`` (and sevenn) in a notebook."""
    names: dict[str, object] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in RESOLVED_PACKAGES:
            try:
                module = importlib.import_module(node.module)
            except ImportError:  # an optional package (sevenn) that is not installed here
                continue
            for alias in node.names:
                obj = getattr(module, alias.name, None)
                if obj is None:  # a submodule imported by name
                    obj = importlib.import_module(f"{node.module}.{alias.name}")
                names[alias.asname or alias.name] = obj
    return names


def device_parameter(obj: object) -> int | None:
    """Position of the ``device`` parameter of a callable (-1: keyword only), None without one."""
    try:
        params = list(inspect.signature(obj).parameters.values())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    for k, p in enumerate(params):
        if p.name == "device":
            return -1 if p.kind is p.KEYWORD_ONLY else k
    return None


def calls_missing_device(path: Path) -> tuple[list[str], int]:
    """The calls in a notebook source to device-taking functions that do not pass ``device``
    (``line: call``), and how many such calls it makes."""
    tree = ast.parse(path.read_text())
    names = imported_objects(tree)
    missing, checked = [], 0
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func, obj = node.func, None
        if isinstance(func, ast.Name):
            obj = names.get(func.id)
        elif isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            owner = names.get(func.value.id)
            if inspect.ismodule(owner):
                obj = getattr(owner, func.attr, None)
        position = device_parameter(obj) if obj is not None else None
        if position is None:
            continue
        checked += 1
        given = next((k.value for k in node.keywords if k.arg == "device"), None)
        if given is None and 0 <= position < len(node.args):
            given = node.args[position]
        if not (isinstance(given, ast.Name) and given.id == "device"):
            missing.append(f"line {node.lineno}: {ast.unparse(node)[:100]}")
    return missing, checked


@pytest.mark.parametrize("path", SOURCES, ids=[p.stem for p in SOURCES])
def test_notebook_passes_the_device_to_every_call_that_takes_one(path):
    missing, _ = calls_missing_device(path)
    assert not missing, (f"{path.name}: these calls do not receive `device` (the one setup() returned), so they "
                         "would run on the CPU on a GPU runtime:\n  " + "\n  ".join(missing))


def test_the_check_finds_the_calls():
    """The check sees the notebooks' training calls (it cannot pass by finding nothing), and it
    flags a call that leaves the device out or passes a literal."""
    counts = {p.stem[:2]: calls_missing_device(p)[1] for p in SOURCES}
    for nb in ("01", "04", "05", "06", "07"):
        assert counts[nb] >= 2, f"notebook {nb}: only {counts[nb]} device-taking calls found"
    bad = ROOT / "build" / "device_check_probe.py"
    bad.parent.mkdir(exist_ok=True)
    bad.write_text("from tutorial_utils.phonons import predict_dos, pretrained\n"
                   "m = pretrained()\npredict_dos(m, [], device='cpu')\npredict_dos(m, [], 32, device)\n")
    try:
        missing, checked = calls_missing_device(bad)
    finally:
        bad.unlink()
    assert checked == 3 and len(missing) == 2 and "line 2" in missing[0] and "line 3" in missing[1], missing


@pytest.mark.parametrize("target", ENTRY_POINTS)
def test_entry_point_takes_a_device(target):
    assert device_parameter(resolve(target)) is not None, f"{target} has no `device` parameter"


@contextmanager
def record_moves() -> Iterator[list[tuple[str, str]]]:
    """Record every ``Module.to(device)`` and ``Data.to(device)`` as ``(kind, device type)``."""
    moves: list[tuple[str, str]] = []
    module_to, data_to = torch.nn.Module.to, Data.to

    def spy_module(self, *args, **kwargs):
        device = kwargs.get("device", args[0] if args else None)
        if isinstance(device, str | torch.device):
            moves.append(("module", torch.device(device).type))
        return module_to(self, *args, **kwargs)

    def spy_data(self, device, *args, **kwargs):
        moves.append(("data", torch.device(device).type))
        return data_to(self, device, *args, **kwargs)

    torch.nn.Module.to, Data.to = spy_module, spy_data  # type: ignore[method-assign]
    try:
        yield moves
    finally:
        torch.nn.Module.to, Data.to = module_to, data_to  # type: ignore[method-assign]


def test_training_and_prediction_move_model_and_batches_to_the_device():
    from tutorial_utils.potential import ETHANOL_SPECIES, build_potential, predict, train_potential

    from .test_potential import _toy_frames

    data = _toy_frames(6)
    model = build_potential(list(ETHANOL_SPECIES), data[:4], mul=4, num_layers=1)
    with record_moves() as moves:
        history = train_potential(model, data[:4], data[4:6], epochs=1, frames_per_epoch=4, batch_size=2,
                                  device=torch.device("cpu"))
    assert ("module", "cpu") in moves and ("data", "cpu") in moves
    assert history.device == "cpu" and "on cpu" in history.summary()
    with record_moves() as moves:
        predict(model, data[:2], device="cpu")
    assert moves[0] == ("module", "cpu") and ("data", "cpu") in moves


def test_move_model_moves_only_when_asked():
    model = torch.nn.Linear(2, 1)
    assert move_model(model) == torch.device("cpu")
    with record_moves() as moves:
        assert move_model(model, "cpu") == torch.device("cpu")
        move_model(model, None)
    assert moves == [("module", "cpu")]


def test_move_data_leaves_the_callers_object_alone():
    d = Data(pos=torch.zeros(2, 3), z=torch.ones(2, dtype=torch.long))
    assert move_data(d, "cpu") is d  # already there: no copy
    t = torch.ones(3)
    assert move_data(t, "cpu") is t
    meta = move_data(d, "meta")  # a device without storage stands in for a GPU here
    assert meta is not d and meta.pos.device.type == "meta" and d.pos.device.type == "cpu"


def test_cpu_threads_only_on_the_cpu():
    before = torch.get_num_threads()
    try:
        cpu_threads(torch.device("cpu"), 1)
        assert torch.get_num_threads() == 1
        torch.set_num_threads(before)
        cpu_threads("meta", 1)  # not the CPU: torch's count is left alone
        assert torch.get_num_threads() == before
        with pytest.raises(ValueError, match="at least 1"):
            cpu_threads("cpu", 0)
    finally:
        torch.set_num_threads(before)


def test_classifier_trains_on_the_device_and_returns_home():
    from tutorial_utils.lessons import tetris

    pos, labels = tetris.shape_tensor()
    model = tetris.PlainMLP()
    with record_moves() as moves:
        log = tetris.train_classifier(model, model.parameters(), pos, labels, steps=3, device="cpu")
    assert moves == [("module", "cpu"), ("module", "cpu")] and log["samples"] == 24
    with pytest.raises(TypeError, match="torch module"):
        tetris.train_classifier(lambda x: x.reshape(len(x), -1)[:, :8], [], pos, labels, steps=1, device="cpu")
