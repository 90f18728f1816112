"""The 60-minute live plans (INSTRUCTORS.md, scripts/instructor_plan.py): every plan matches its
notebook, malformed plans are refused clearly, and the decks carry the plan."""

import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import instructor_plan  # noqa: E402
import make_slides  # noqa: E402

# issue 19: notebooks 01-03 at least
PLANNED = ["01_symmetry_intro", "02_irreps_tensor_products", "03_invariant_descriptors", "07_tensor_properties"]


@pytest.mark.parametrize("name", PLANNED)
def test_plan_covers_every_section_once_in_order_and_adds_up_to_an_hour(name):
    plans = instructor_plan.read_plans()
    assert name in plans, f"INSTRUCTORS.md has no plan for {name}"
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    assert instructor_plan.check_plan(plans[name], nb, name) == []


def test_every_plan_names_an_existing_notebook():
    for name in instructor_plan.read_plans():
        assert (ROOT / "notebooks" / f"{name}.ipynb").exists(), name


def test_check_finds_a_wrong_total_a_missing_and_an_unknown_section():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# title"),
                                         nbformat.v4.new_markdown_cell("## 1. First\ntext"),
                                         nbformat.v4.new_markdown_cell("## 2. Second"),
                                         nbformat.v4.new_markdown_cell("## References")])
    good = [instructor_plan.PlanRow("1. First", 30, "run", ""),
            instructor_plan.PlanRow("2. Second", 30, "stored", "show the plot")]
    assert instructor_plan.check_plan(good, nb, "x") == []
    bad = [instructor_plan.PlanRow("1. First", 20, "run", ""),
           instructor_plan.PlanRow("3. Third", 30, "skip", "")]
    problems = "\n".join(instructor_plan.check_plan(bad, nb, "x"))
    assert "adds up to 50 min" in problems
    assert "'2. Second' is planned 0 times" in problems
    assert "'3. Third', which is not a ## heading" in problems
    assert "without saying why" in problems
    swapped = list(reversed(good))
    assert any("order" in p for p in instructor_plan.check_plan(swapped, nb, "x"))


def test_malformed_rows_are_refused_with_the_line(tmp_path):
    plan = tmp_path / "INSTRUCTORS.md"
    plan.write_text("## 01_x\n\n| section | min | live |\n| --- | --- | --- |\n| 1. A | ten | run |\n")
    with pytest.raises(ValueError, match="line 5 .*01_x.*section \\| minutes \\| live"):
        instructor_plan.read_plans(plan)
    plan.write_text("## 01_x\n\n| section | min | live |\n| --- | --- | --- |\n| 1. A | 10 | maybe |\n")
    with pytest.raises(ValueError, match="must start with one of"):
        instructor_plan.read_plans(plan)


@pytest.mark.parametrize("name", PLANNED)
def test_deck_gets_the_plan_slide_and_one_speaker_note_per_section(name):
    nb = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    rows = instructor_plan.read_plans()[name]
    deck_nb = make_slides.for_slides(nb, name)
    assert make_slides.expected_slides(deck_nb) == make_slides.expected_slides(nb) + 1
    assert deck_nb.cells[1].source.startswith("## Plan for a 60-minute live session")
    notes = [c for c in deck_nb.cells if c.metadata.get("slideshow", {}).get("slide_type") == "notes"]
    assert len(notes) == len(rows)
    assert notes[-1].source.startswith(f"Plan: minutes {60 - rows[-1].minutes}-60 of 60.")
