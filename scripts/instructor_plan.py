"""The 60-minute live plans of ``INSTRUCTORS.md``, read for the slide decks and the tests.

``INSTRUCTORS.md`` has one ``## NN_name`` heading per planned notebook, followed by a table

    | section | min | live |
    | --- | --- | --- |
    | 1. Coordinates depend on the observer | 4 | run |
    | 6. Route 1: data augmentation | 6 | stored: show the sweep's plot (35 s in full mode) |

where *section* is a ``##`` heading of the notebook, word for word; *min* the minutes it gets
live (all rows add up to 60); *live* starts with ``run`` (run the cells live), ``stored``
(show the stored outputs, do not run the cells) or ``skip`` (left for after the session),
followed by a reason. ``python scripts/instructor_plan.py`` prints every plan and checks it.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
PLAN_FILE = ROOT / "INSTRUCTORS.md"
SESSION_MINUTES = 60
MODES = ("run", "stored", "skip")
# headings that are not part of the live session: no row needed
NOT_PLANNED = re.compile(r"^(References|Appendix)\b")


@dataclass(frozen=True)
class PlanRow:
    """One section of a live session."""

    section: str   # the notebook's ## heading, without the hashes
    minutes: int
    mode: str      # "run", "stored" or "skip"
    note: str      # the rest of the live column: what to do and why


def read_plans(path: Path = PLAN_FILE) -> dict[str, list[PlanRow]]:
    """``{notebook stem: rows in order}`` from ``INSTRUCTORS.md``; a malformed row raises a
    ``ValueError`` that names the notebook and the row."""
    plans: dict[str, list[PlanRow]] = {}
    current: str | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        heading = re.match(r"^## (\d\d_\w+)\s*$", line)
        if heading:
            current = heading.group(1)
            plans[current] = []
            continue
        if current is None or not line.startswith("|") or re.match(r"^\|\s*(section|---)", line):
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[1].isdigit():
            raise ValueError(f"{path.name} line {number} ({current}): a row needs 'section | minutes | live',"
                             f" got {line!r}")
        mode, _, note = cells[2].partition(":")
        if mode.strip() not in MODES:
            raise ValueError(f"{path.name} line {number} ({current}): the live column must start with one of"
                             f" {MODES}, got {cells[2]!r}")
        plans[current].append(PlanRow(cells[0], int(cells[1]), mode.strip(), note.strip()))
    return plans


def cell_sections(cell: nbformat.NotebookNode) -> list[str]:
    """The ``##`` headings of one cell (none unless markdown; title ``#`` and ``###``
    excluded), without those that are never live (References, appendices)."""
    if cell.cell_type != "markdown":
        return []
    found = (re.match(r"^## (?!#)(.+?)\s*$", line) for line in cell.source.splitlines())
    return [m.group(1) for m in found if m and not NOT_PLANNED.match(m.group(1))]


def notebook_sections(nb: nbformat.NotebookNode) -> list[str]:
    """The planned-for ``##`` headings of a notebook, in order (:func:`cell_sections`)."""
    return [section for cell in nb.cells for section in cell_sections(cell)]


def check_plan(rows: list[PlanRow], nb: nbformat.NotebookNode, name: str) -> list[str]:
    """What is wrong with a plan against its notebook (empty when nothing is)."""
    problems = []
    total = sum(r.minutes for r in rows)
    if total != SESSION_MINUTES:
        problems.append(f"{name}: the plan adds up to {total} min, not {SESSION_MINUTES}")
    planned, present = [r.section for r in rows], notebook_sections(nb)
    for section in present:
        if planned.count(section) != 1:
            problems.append(f"{name}: section {section!r} is planned {planned.count(section)} times (once needed)")
    for section in planned:
        if section not in present:
            problems.append(f"{name}: the plan names {section!r}, which is not a ## heading of the notebook")
    if [s for s in planned if s in present] != [s for s in present if s in planned]:
        problems.append(f"{name}: the plan's sections are not in the notebook's order")
    for r in rows:
        if r.mode != "run" and not r.note:
            problems.append(f"{name}: {r.section!r} is {r.mode!r} without saying why or what to show")
    return problems


def plan_markdown(rows: list[PlanRow]) -> str:
    """The plan as the markdown of one slide (the deck's second)."""
    lines = [f"## Plan for a {SESSION_MINUTES}-minute live session", "",
             "| section | min | live |", "| --- | ---: | --- |"]
    for r in rows:
        live = r.mode + (f": {r.note}" if r.note else "")
        lines.append(f"| {r.section} | {r.minutes} | {live} |")
    lines += ["", "*run*: run the cells live; *stored*: show the stored outputs; *skip*: after the session."]
    return "\n".join(lines)


def speaker_note(row: PlanRow, start_minute: int) -> str:
    """The speaker note of a section's slide (reveal.js speaker view, key ``s``)."""
    live = row.mode + (f": {row.note}" if row.note else "")
    return f"Plan: minutes {start_minute}-{start_minute + row.minutes} of {SESSION_MINUTES}. {live}"


def main() -> int:
    plans = read_plans()
    problems = []
    for name, rows in plans.items():
        path = ROOT / "notebooks" / f"{name}.ipynb"
        if not path.exists():
            problems.append(f"{name}: no such notebook")
            continue
        problems += check_plan(rows, nbformat.read(path, as_version=4), name)
        print(f"{name}: {len(rows)} sections, {sum(r.minutes for r in rows)} min;"
              f" stored: {sum(r.mode == 'stored' for r in rows)}, skipped: {sum(r.mode == 'skip' for r in rows)}")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
