"""Write notebooks/templates/template.ipynb, the skeleton every notebook starts from.

Run: ``python scripts/make_template.py``. The setup cell text is defined once, in
``tutorial_utils/notebook_cells.py``; tests check every notebook carries it verbatim.
"""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell

from tutorial_utils.notebook_cells import badge_cell, setup_cell

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts" / "notebooks"))
from nbbuild import NotebookBuilder  # noqa: E402  (the builders' module, for one notebook format)


def main() -> None:
    path = "notebooks/templates/template.ipynb"
    cells = [
        new_markdown_cell(badge_cell(path, "NN. Title of the notebook")),
        new_markdown_cell(
            "## What you will learn\n"
            "- one goal per line, each a thing the learner can *do* afterwards\n\n"
            "**Prerequisites:** which notebooks come first, what Python/physics is assumed.\n\n"
            "**Run time** on 2 CPU cores: quick mode (`TUTORIAL_QUICK=1`) about N min, "
            "full mode about M min."
        ),
        new_code_cell(setup_cell()),
        new_markdown_cell(
            "## 1. A section\n"
            "The idea in one paragraph, then the equation:\n\n"
            "$$ f(Q x) = D(Q)\\, f(x) \\quad \\forall Q \\in O(3) $$"
        ),
        new_code_cell(
            "import torch\n"
            "from e3nn import o3\n\n"
            "x = torch.randn(10, 3, dtype=torch.float64)\n"
            "Q = o3.rand_matrix(dtype=torch.float64)\n"
            "Y = o3.spherical_harmonics('2e', x, normalize=True)\n"
            "Y_rot = o3.spherical_harmonics('2e', x @ Q.T, normalize=True)\n"
            "D = o3.Irreps('2e').D_from_matrix(Q)"
        ),
        new_markdown_cell("The numerical check of the claim (deterministic: its output is checked by nbval):"),
        new_code_cell(
            "# NBVAL_CHECK_OUTPUT\n"
            "err = (Y_rot - Y @ D.T).abs().max().item()\n"
            "print(f'equivariance error below 1e-12: {err < 1e-12}')"
        ),
        new_markdown_cell("## Summary\n- what was shown, each point with the number that showed it"),
        new_markdown_cell("## Exercises\n**Exercise 1.** A task, with a hint."),
        nbformat.v4.new_code_cell(
            "# Solution to exercise 1\nprint(o3.Irreps('1o') * 2)",
            metadata={"tags": ["solution"]},
        ),
        new_markdown_cell(
            "## References\n1. Geiger and Smidt, e3nn: Euclidean Neural Networks, arXiv:2207.09453 (2022)."
        ),
    ]
    builder = NotebookBuilder(path)
    builder.cells = cells
    nb = builder.notebook()
    (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
    # store outputs from a clean run, as for every notebook, so nbval has something to check
    os.environ.update(TUTORIAL_QUICK="0", TUTORIAL_PROGRESS="0")
    NotebookClient(nb, timeout=600, kernel_name="python3", record_timing=False,
                   resources={"metadata": {"path": str(ROOT / "notebooks")}}).execute()
    nbformat.write(nb, ROOT / path)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
