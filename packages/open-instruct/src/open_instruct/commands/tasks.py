"""``open-instruct tasks``: write a procedural verifiable-task suite (train.jsonl, heldout.jsonl)."""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  # every family, 2000 training and 200 held-out examples each
  open-instruct tasks runs/tasks --train-per-family 2000 --heldout-per-family 200
  # two families, harder arithmetic
  open-instruct tasks runs/tasks --families arithmetic sorting --difficulty 'arithmetic={"digits": 3}'
  # the held-out file is what verify-acc and the heldout_verified callback read
  open-instruct verify-acc runs/tiny_sft --data runs/tasks/heldout.jsonl
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output folder (train.jsonl, heldout.jsonl, suite.json)")
    parser.add_argument("--families", nargs="+", default=None, help="task families (default: all registered)")
    parser.add_argument("--train-per-family", type=int, default=1000)
    parser.add_argument("--heldout-per-family", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--difficulty", action="append", default=[], metavar="FAMILY=JSON",
                        help='difficulty knobs of one family, e.g. \'arithmetic={"digits": 3}\' (repeatable)')


def _difficulty(specs: list[str]) -> dict[str, dict]:
    out = {}
    for spec in specs:
        family, sep, text = spec.partition("=")
        try:
            knobs = json.loads(text) if sep else None
        except json.JSONDecodeError as e:
            raise ValueError(f"--difficulty {spec!r}: not JSON after '=' ({e.msg})") from None
        if not isinstance(knobs, dict):
            raise ValueError(f"--difficulty {spec!r}: expected FAMILY={{\"knob\": value, ...}}")
        out[family] = knobs
    return out


def run(args: argparse.Namespace) -> int:
    from open_instruct.tasks import build_suite

    if args.train_per_family < 0 or args.heldout_per_family < 0:
        raise ValueError("--train-per-family and --heldout-per-family must be >= 0")
    try:
        paths = build_suite(args.out, families=args.families, train_per_family=args.train_per_family,
                            heldout_per_family=args.heldout_per_family, seed=args.seed,
                            **_difficulty(args.difficulty))
    except KeyError as e:  # an unknown family: its message names the known ones
        raise ValueError(e.args[0]) from None
    for split, path in paths.items():
        n = sum(1 for line in open(path, encoding="utf-8") if line.strip())
        print(f"{split}: {n} examples -> {path}")
    return 0
