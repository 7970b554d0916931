"""``olmo-stack``: the five packages composed. The end-to-end pipeline arrives with its own issue;
until then ``demo`` runs what exists (tokenize the built-in corpus sample and read it back)."""

from __future__ import annotations

import argparse
import sys

EPILOG = """examples:
  olmo-stack demo                 # run the main job on the built-in data
  olmo-stack demo --out runs/demo
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="olmo-stack", description="Raw documents to an evaluated, adapted "
                                     "OLMo model, stage by stage.", epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the main job on built-in data")
    demo.add_argument("--out", default="runs/demo", help="output folder (default: runs/demo)")
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from olmo_stack.demo import run_demo

    return run_demo(args.out)


if __name__ == "__main__":
    sys.exit(main())
