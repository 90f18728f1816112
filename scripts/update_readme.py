"""Copy measured notebook run times from build/timings.json into README.md's table.

    python scripts/update_readme.py

Only the last column of the table between the ``notebooks-table`` markers changes.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def main() -> int:
    timings_file = ROOT / "build" / "timings.json"
    if not timings_file.exists():
        print("no build/timings.json: run scripts/run_notebooks.py (and --quick) first", file=sys.stderr)
        return 1
    timings = json.loads(timings_file.read_text())
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = text.index("<!-- notebooks-table:start -->"), text.index("<!-- notebooks-table:end -->")
    lines = text[start:end].splitlines()
    for k, line in enumerate(lines):
        m = re.match(r"\| (\d\d) \| \[.*?\]\(notebooks/(\w+)\.ipynb\)", line)
        if m and m.group(2) in timings:
            t = timings[m.group(2)]
            cells = line.rstrip(" |").split(" | ")
            old_quick, _, old_full = cells[-1].partition(" / ")  # keep what this build did not measure
            quick = fmt(t["quick"]) if "quick" in t else old_quick.strip()
            full = fmt(t["full"]) if "full" in t else old_full.strip()
            cells[-1] = f"{quick} / {full}"
            lines[k] = " | ".join(cells) + " |"
    readme.write_text(text[:start] + "\n".join(lines) + "\n" + text[end:])
    print("README.md updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
