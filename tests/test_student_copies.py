"""Student copies differ from the instructor notebooks only in the cells tagged solution."""


import nbformat
import pytest

from .notebook_files import ALL, ids, load_script

students = load_script("make_student_copies")


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_student_copy_differs_only_in_solution_cells(path):
    teacher = nbformat.read(path, as_version=4)
    student = students.student_version(teacher)
    nbformat.validate(student)
    assert len(student.cells) == len(teacher.cells)
    changed = 0
    for t, s in zip(teacher.cells, student.cells):
        assert s.cell_type == t.cell_type and s.metadata == t.metadata
        if "solution" in t.metadata.get("tags", []):
            assert s.source != t.source and s.source.startswith("# Your solution here.")
            changed += 1
        else:
            assert s.source == t.source
        if s.cell_type == "code":
            assert s.outputs == [] and s.execution_count is None
    assert changed >= 1, "a notebook without solution cells has no exercises"


def test_hint_from_metadata():
    cell = nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["solution"], "hint": "use o3.Irreps"})
    assert "Hint: use o3.Irreps" in students.stub_source(cell)
