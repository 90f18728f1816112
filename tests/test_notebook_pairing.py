"""Notebooks and their text sources (jupytext pairing, scripts/notebook_sync.py), and the two
staleness checks of tests/notebook_prose.py: source displays and numbers quoted in the prose.

A notebook edited without its text source (or the reverse), a stored ``show_source`` display
of code that has changed since, and a measured number in the text that no output prints,
each fail here."""

from __future__ import annotations

import copy

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from . import notebook_prose
from .notebook_files import ALL, CURRICULUM, ROOT, ids, load_script

notebook_sync = load_script("notebook_sync")


# --------------------------------------------------------------------------- pairing
@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_notebook_inputs_equal_its_text_source(path):
    text_nb = notebook_sync.read_text(notebook_sync.text_path(path))
    problems = notebook_sync.differences(text_nb, nbformat.read(path, as_version=4), path.name)
    assert not problems, "\n".join(problems) + "\nrun `make sync` (text source -> notebook)"


def test_every_text_source_has_its_notebook():
    assert not notebook_sync.orphans(), f"text sources without a notebook: {notebook_sync.orphans()}"
    assert sorted(notebook_sync.notebook_paths()) == sorted(ALL)


def _stored_pair():
    """A small stored notebook with outputs, and the text-source notebook of its inputs."""
    nb = notebook_sync.add_slide_metadata(new_notebook(cells=[
        new_markdown_cell("# Title\n\nSome text with a tpyo."),
        new_code_cell("print(1)", execution_count=1, outputs=[new_output("stream", name="stdout", text="1\n")]),
        new_code_cell("x = 2\nx", execution_count=2,
                      outputs=[new_output("execute_result", data={"text/plain": "2"}, execution_count=2)]),
        new_code_cell("solve()", metadata={"tags": ["solution"], "hint": "use x"}, execution_count=3),
    ], metadata={"kernelspec": dict(notebook_sync.KERNELSPEC)}))
    text_nb = notebook_sync.jupytext.reads(notebook_sync.jupytext.writes(nb, fmt="py:percent"), fmt="py:percent")
    return nb, text_nb


def test_text_round_trip_keeps_tags_and_hints_and_drops_slide_types():
    nb, text_nb = _stored_pair()
    assert [notebook_sync.inputs(c) for c in text_nb.cells] == [notebook_sync.inputs(c) for c in nb.cells]
    text = notebook_sync.jupytext.writes(nb, fmt="py:percent", config=notebook_sync.load_jupytext_configuration_file(
        str(ROOT / "notebooks" / "jupytext.toml")))
    assert "slideshow" not in text and 'tags=["solution"]' in text and 'hint="use x"' in text


def test_a_markdown_fix_in_the_text_keeps_every_output():
    nb, text_nb = _stored_pair()
    assert notebook_sync.differences(text_nb, nb, "nb") == []
    text_nb.cells[0].source = text_nb.cells[0].source.replace("tpyo", "typo")
    assert notebook_sync.differences(text_nb, nb, "nb") == ["nb cell 0: source differs from the text source"]
    out = notebook_sync.synced(text_nb, copy.deepcopy(nb))
    assert out.cells[0].source.endswith("a typo.")
    assert [c.get("outputs") for c in out.cells] == [c.get("outputs") for c in nb.cells]
    assert notebook_sync.differences(text_nb, out, "nb") == []


def test_a_new_cell_gets_a_derived_slide_type_and_the_others_keep_outputs():
    nb, text_nb = _stored_pair()
    text_nb.cells.insert(2, new_markdown_cell("### A new step"))
    out = notebook_sync.synced(text_nb, copy.deepcopy(nb))
    assert out.cells[2].metadata["slideshow"] == {"slide_type": "subslide"}
    assert out.cells[1].outputs == nb.cells[1].outputs and out.cells[3].outputs == nb.cells[2].outputs
    assert "solution" in out.cells[4].metadata["tags"]


def test_editor_state_is_neither_compared_nor_kept():
    """JupyterLab adds ``scrolled``, ``collapsed`` or ``jupyter.outputs_hidden`` to cells: that
    is not a difference from the text source, and a sync drops it."""
    nb, text_nb = _stored_pair()
    nb.cells[1].metadata["scrolled"] = True
    nb.cells[2].metadata["jupyter"] = {"outputs_hidden": True}
    assert notebook_sync.differences(text_nb, nb, "nb") == []
    text_nb.cells[0].source += " Fixed."
    out = notebook_sync.synced(text_nb, copy.deepcopy(nb))
    assert "scrolled" not in out.cells[1].metadata and "jupyter" not in out.cells[2].metadata
    assert out.cells[3].metadata["tags"] == ["solution"] and notebook_sync.differences(text_nb, out, "nb") == []


def test_a_wrong_slide_type_is_reported():
    nb, text_nb = _stored_pair()
    nb.cells[1].metadata["slideshow"] = {"slide_type": "slide"}
    assert notebook_sync.differences(text_nb, nb, "nb") == ["nb cell 1: slide type is not the derived '-'"]


def test_missing_text_source_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="--from-notebooks"):
        notebook_sync.read_text(notebook_sync.SOURCES / "99_missing.py")


def test_new_notebook_starts_from_the_template(tmp_path, monkeypatch):
    notebooks = tmp_path / "notebooks"
    (notebooks / "templates" / "src").mkdir(parents=True)
    (notebooks / "src").mkdir()
    for path in (notebook_sync.TEMPLATE, notebook_sync.text_path(notebook_sync.TEMPLATE)):
        (tmp_path / path.relative_to(ROOT)).write_bytes(path.read_bytes())
    monkeypatch.setattr(notebook_sync, "ROOT", tmp_path)
    monkeypatch.setattr(notebook_sync, "NOTEBOOKS", notebooks)
    monkeypatch.setattr(notebook_sync, "SOURCES", notebooks / "src")
    monkeypatch.setattr(notebook_sync, "TEMPLATE", notebooks / "templates" / "template.ipynb")
    text = notebook_sync.new_notebook("07_tensors", "07. Tensor properties")
    nb = nbformat.read(notebooks / "07_tensors.ipynb", as_version=4)
    assert "notebooks/07_tensors.ipynb" in nb.cells[0].source and "# 07. Tensor properties" in nb.cells[0].source
    assert text.read_text().count("template.ipynb") == 0
    assert all("outputs" not in c or c.outputs == [] for c in nb.cells)
    with pytest.raises(SystemExit, match="exists already"):
        notebook_sync.new_notebook("07_tensors", "again")
    with pytest.raises(SystemExit, match="NN_name"):
        notebook_sync.new_notebook("tensors", "no number")


# --------------------------------------------------------------------------- stale displays
@pytest.mark.parametrize("path", CURRICULUM, ids=ids(CURRICULUM))
def test_displayed_source_is_the_current_source(path):
    problems = notebook_prose.stale_source_displays(nbformat.read(path, as_version=4))
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def _show_source_notebook(shown: str) -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_code_cell("from tutorial_utils.notebook_cells import show_source\nfrom tutorial_utils.runtime import pick"),
        new_code_cell("show_source(pick)", execution_count=2, outputs=[new_output(
            "display_data", data={"text/markdown": shown, "text/plain": "<Markdown>"})]),
    ])


def test_stale_display_check_fails_on_an_old_source():
    from tutorial_utils.runtime import pick

    current = notebook_prose.show_source_markdown(pick)
    assert notebook_prose.stale_source_displays(_show_source_notebook(current)) == []
    old = current.replace("return", "return  # an older version\n    return", 1)
    (problem,) = notebook_prose.stale_source_displays(_show_source_notebook(old))
    assert "pick" in problem and "re-store" in problem


def test_stale_display_check_needs_an_importable_object():
    nb = _show_source_notebook("```python\n```")
    nb.cells[1].source = "show_source(local_helper)"
    (problem,) = notebook_prose.stale_source_displays(nb)
    assert "not imported" in problem


# --------------------------------------------------------------------------- prose numbers
@pytest.mark.parametrize("path", CURRICULUM, ids=ids(CURRICULUM))
def test_numbers_in_the_prose_are_printed_by_the_notebook(path):
    nb = nbformat.read(path, as_version=4)
    if not any(c.get("outputs") for c in nb.cells):
        pytest.fail(f"{path.name} has no stored outputs: store them with make store-outputs")
    problems = notebook_prose.unsupported_numbers(nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


def _prose_notebook(text: str, printed: str) -> nbformat.NotebookNode:
    return new_notebook(cells=[
        new_markdown_cell(text),
        new_code_cell("print(result)", outputs=[new_output("stream", name="stdout", text=printed)]),
    ])


@pytest.mark.parametrize(("text", "printed", "supported"), [
    ("The force MAE is 54.9 meV/Å.", "force MAE 54.93 meV/Å", True),
    ("The force MAE is 54.9 meV/Å.", "force MAE 55.4 meV/Å", False),
    ("The error is 0.82 % of the electrons.", "eps_rho 0.0082", True),
    ("The error is 0.82 % of the electrons.", "eps_rho 0.0091", False),
    ("It holds to about 1e-15.", "median 1.7e-15", True),
    ("It holds to about 1e-15.", "median 1.7e-13", False),
    ("A largest error of 1.3e-10.", "largest 1.3e-10", True),
    ("A largest error of 1.3e-10.", "largest 2.3e-10", False),
    ("45 % fewer steps.", "45.2", True),
    ("It rounds to 0.13 here.", "value 0.125", True),                 # half up, not binary rounding
    ("A 29 % share.", "fraction 0.285", True),
    ("A shift of 0.52 eV.", "shift -0.52 eV", True),
    ("45 % fewer steps.", "43.0", False),
    ("NequIP reaches 2.8 meV/Å (Batzner et al., 2022).", "", True),   # cited
    ("Published: R² 0.56 (Kong 2022) on this set.", "", False),        # no citation pattern
    ("Published: R² 0.56 (2022) on this set.", "", True),
    ("A cutoff `r_max = 5.0` Å and $\\sigma = 0.1$.", "", True),       # code and math
    ("e3nn 0.6.0 and def2-SVP, H2O, notebook 04.", "", True),           # versions, names, integers
])
def test_prose_number_rule(text, printed, supported):
    assert (notebook_prose.unsupported_numbers(_prose_notebook(text, printed)) == []) is supported


def test_references_section_is_not_checked():
    nb = _prose_notebook("## References\n1. A. Author, J. Chem. Phys. 12.5, 3.1 (1999).", "")
    assert notebook_prose.unsupported_numbers(nb) == []
    nb.cells.insert(0, new_markdown_cell("We measured 3.14 here."))
    assert len(notebook_prose.unsupported_numbers(nb)) == 1


@pytest.mark.parametrize("root", ["repository", "notebooks"])
def test_jupytext_pairs_each_notebook_with_the_text_source_this_script_uses(root):
    """JupyterLab's jupytext finds notebooks/jupytext.toml and pairs the same files as
    scripts/notebook_sync.py, whether Lab runs in the repository or in notebooks/."""
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file
    from jupytext.formats import long_form_multiple_formats, long_form_one_format
    from jupytext.paired_paths import paired_paths

    base = ROOT if root == "repository" else ROOT / "notebooks"
    for path in ALL:
        config_file = find_jupytext_configuration_file(str(path.parent))
        assert config_file == str(ROOT / "notebooks" / "jupytext.toml")
        rel = path.relative_to(base).as_posix()
        formats = long_form_multiple_formats(load_jupytext_configuration_file(config_file).default_formats(rel))
        paired = {p for p, _ in paired_paths(rel, long_form_one_format("ipynb"), formats)}
        assert paired == {rel, notebook_sync.text_path(path).relative_to(base).as_posix()}
