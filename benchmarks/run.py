"""Run the benchmarks: ``python benchmarks/run.py`` (all) or ``python benchmarks/run.py graphs``.

Each module in this folder with a ``main(argv)`` is a benchmark; it prints its own table of
timings and ratios against references measured in the same run.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str]) -> int:
    names = argv or sorted(p.stem for p in HERE.glob("*.py") if p.stem != "run")
    for name in names:
        path = HERE / f"{name}.py"
        if not path.is_file():
            print(f"no benchmark {name!r}; have {sorted(p.stem for p in HERE.glob('*.py') if p.stem != 'run')}")
            return 2
        spec = importlib.util.spec_from_file_location(f"benchmark_{name}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        print(f"=== {name} ===", flush=True)
        t0 = time.perf_counter()
        module.main([])  # defaults: run.py passes no options through
        print(f"=== {name}: {time.perf_counter() - t0:.1f} s ===\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
