"""Command line: ``python -m tutorial_utils.data {list, fetch NAME..., fetch --all}``."""

from __future__ import annotations

import argparse
import sys

from .registry import REGISTRY, cache_dir, fetch


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorial_utils.data",
                                     description="Fetch and verify the curriculum's data sets.")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("list", help="list the registered data sets")
    p_fetch = sub.add_parser("fetch", help="download and verify data sets into the cache")
    p_fetch.add_argument("names", nargs="*", help="data set names (see 'list')")
    p_fetch.add_argument("--all", action="store_true", help="fetch every registered data set")
    args = parser.parse_args(argv)

    if args.command == "list":
        for entry in REGISTRY.values():
            print(f"{entry.name:16s} {entry.size / 1e6:7.2f} MB  {entry.description}")
        print(f"cache folder: {cache_dir()}")
        return 0
    names = list(REGISTRY) if args.all else args.names
    if not names:
        parser.error("name at least one data set, or pass --all")
    failed = 0
    for name in names:
        try:
            path = fetch(name, progress=sys.stderr.isatty())
            print(f"ok      {name:16s} {path}")
        except (KeyError, ValueError, OSError) as exc:
            failed += 1
            print(f"FAILED  {name:16s} {exc}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
