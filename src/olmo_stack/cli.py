"""``olmo-stack``: the five packages composed, from raw documents to an evaluated, adapted, exported model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """examples:
  olmo-stack demo                           # the main job on built-in data (<= 15 min on 2 CPU cores)
  olmo-stack demo --moe                     # the same with an OLMoE-style model
  olmo-stack demo --preset smoke            # the same path, smaller (CI)
  olmo-stack run my_config.yaml pretrain.max_steps=500
  olmo-stack lineage runs/demo/export/hf    # the chain from the exported model back to raw shards
  olmo-stack trace --run runs/demo --step 12
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="olmo-stack", epilog=EPILOG,
                                     description="Raw documents to an evaluated, adapted OLMo model, stage by stage.",
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="run the whole pipeline on the built-in data")
    demo.add_argument("--preset", default="demo", choices=["demo", "smoke"])
    demo.add_argument("--moe", action="store_true", help="pretrain an OLMoE-style MoE model")
    demo.add_argument("--out", default=None, help="run folder (default: runs/<preset>[_moe])")
    run = sub.add_parser("run", help="run the pipeline from a config (a preset name or a YAML file)")
    run.add_argument("config", help="demo, smoke, or a YAML file over the StackConfig schema")
    run.add_argument("overrides", nargs="*", help="key=value overrides, e.g. pretrain.max_steps=500")
    run.add_argument("--moe", action="store_true")
    lin = sub.add_parser("lineage", help="print the chain of stages that produced PATH, back to raw files")
    lin.add_argument("path")
    tr = sub.add_parser("trace", help="show the documents a pretraining step saw")
    tr.add_argument("--run", default="runs/demo", help="run folder (default: runs/demo)")
    tr.add_argument("--step", type=int, required=True)
    tr.add_argument("--json", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if args.command in ("demo", "run"):
        from olmo_stack.pipeline import load_stack_config, run_stack

        if args.command == "demo":
            cfg = load_stack_config(args.preset, moe=args.moe)
            cfg.out = args.out or f"runs/{args.preset}{'_moe' if args.moe else ''}"
        else:
            cfg = load_stack_config(args.config, args.overrides, moe=args.moe)
        run_stack(cfg)
        return 0
    if args.command == "lineage":
        from olmo_stack.pipeline.report_build import format_lineage
        from olmo_stack.stages import lineage

        print(format_lineage(lineage(Path(args.path))))
        return 0
    if args.command == "trace":
        from olmo_core.cli import main as olmo_core_main

        run_dir = Path(args.run) / "pretrain"
        extra = ["--json"] if args.json else []
        return olmo_core_main(["data-order", "--config", str(run_dir), "--step", str(args.step),
                               "--check-metrics", str(run_dir / "metrics.jsonl"), *extra])
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
