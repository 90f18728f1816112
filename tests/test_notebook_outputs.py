"""Stored outputs must come from a clean scripted run (scripts/run_notebooks.py --store).

For each curriculum notebook: execution counts 1..n in order (or none at all for a
notebook not yet executed), no error outputs, no local paths or user names, no pip logs,
no progress-bar debris, no stray warnings.
"""

import getpass
import re

import nbformat
import pytest

from .notebook_files import ALL, CURRICULUM, ids

LOCAL_PATH = re.compile(r"(/home/|/root/|/Users/|/tmp/|/work/|[A-Za-z]:\\\\Users\\\\|/private/var/)")
PIP_LOG = re.compile(r"(Requirement already satisfied|Collecting \S+|Successfully installed|Downloading \S+\.whl)")
WARNING = re.compile(r"\b\w*Warning: ")


def _texts(output) -> list[str]:
    texts = []
    if "text" in output:
        texts.append("".join(output["text"]) if isinstance(output["text"], list) else output["text"])
    for mime, value in output.get("data", {}).items():
        # plotly figures store arrays as base64 ("bdata"), where any short string can occur
        # by chance; images likewise. Text and plain JSON outputs are what a path leaks into.
        if mime.startswith("text/") or mime == "application/json":
            texts.append(value if isinstance(value, str) else str(value))
    if output.get("output_type") == "error":
        texts.append("\n".join(output.get("traceback", [])))
    return texts


def test_every_curriculum_notebook_is_found():
    assert all(p.suffix == ".ipynb" for p in CURRICULUM)


@pytest.mark.parametrize("path", CURRICULUM, ids=ids(CURRICULUM))
def test_stored_outputs_are_clean(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    problems = []
    if any(n is not None for n in counts) and counts != list(range(1, len(code) + 1)):
        problems.append(f"execution counts are {counts}, not 1..{len(code)}: re-run scripts/run_notebooks.py --store")
    user = getpass.getuser()
    user_re = re.compile(rf"\b{re.escape(user)}\b") if user not in {"root", "jovyan", "runner"} else None
    for k, cell in enumerate(code):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                problems.append(f"code cell {k}: stored error {out.get('ename')}: {out.get('evalue')}")
            for text in _texts(out):
                if m := LOCAL_PATH.search(text):
                    problems.append(f"code cell {k}: local path {m.group(0)!r} in an output")
                if m := PIP_LOG.search(text):
                    problems.append(f"code cell {k}: pip log {m.group(0)!r} in an output")
                if out.get("name") == "stderr" and (m := WARNING.search(text)):
                    problems.append(f"code cell {k}: unexplained warning {m.group(0)!r} in stderr")
                if "\r" in text and out.get("output_type") == "stream":
                    problems.append(f"code cell {k}: progress-bar debris (carriage returns) in an output")
                if user_re and user_re.search(text):
                    problems.append(f"code cell {k}: the user name {user!r} appears in an output")
    assert not problems, f"{path.name}:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", ALL, ids=ids(ALL))
def test_checked_cells_have_stored_output(path):
    """A cell marked NBVAL_CHECK_OUTPUT must carry the output nbval compares against."""
    nb = nbformat.read(path, as_version=4)
    executed = any(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
    if not executed:
        pytest.skip("not executed yet")
    missing = [k for k, c in enumerate(nb.cells)
               if c.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in c.source and not c.outputs]
    assert not missing, f"{path.name}: checked cells without stored output: {missing}"
