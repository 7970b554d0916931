"""``dolma-tools list``: taggers (with what they compute), shipped recipes and executors."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  dolma-tools list                 # names and one line each
  dolma-tools list --verbose       # full descriptions, defaults and thresholds
  dolma-tools list gopher_v1       # one tagger in full
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="*", help="only these taggers (printed in full)")
    parser.add_argument("--verbose", "-v", action="store_true", help="full docstrings")


def run(args: argparse.Namespace) -> int:
    from dolma_tools.executor import EXECUTORS
    from dolma_tools.mixer.config import shipped_recipes
    from dolma_tools.taggers import list_taggers

    taggers = list_taggers()
    if args.names:
        unknown = [n for n in args.names if n not in taggers]
        if unknown:
            print(f"unknown tagger(s): {', '.join(unknown)}; known: {', '.join(taggers)}")
            return 1
        for n in args.names:
            print(f"{n}\n{'=' * len(n)}\n{taggers[n]}\n")
        return 0
    print("taggers:")
    for name, doc in taggers.items():
        if args.verbose:
            print(f"  {name}\n" + "\n".join(f"      {line}" for line in doc.splitlines()) + "\n")
        else:
            print(f"  {name:<45} {doc.splitlines()[0] if doc else ''}")
    print("recipes:")
    for name, path in sorted(shipped_recipes().items()):
        print(f"  {name:<45} {path}")
    print("executors: " + ", ".join(EXECUTORS))
    return 0
