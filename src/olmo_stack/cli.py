"""``olmo-stack``: the five packages composed, from raw documents to an evaluated, adapted, exported model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EPILOG = """examples:
  olmo-stack demo                           # the main job on built-in data (<= 15 min on 2 CPU cores)
  olmo-stack demo --moe                     # the same with an OLMoE-style model
  olmo-stack demo --preset smoke            # the same path, smaller (CI)
  olmo-stack run my_config.yaml pretrain.trainer.max_steps=500 pretrain.optim.lr=1e-3
  olmo-stack run smoke --print-config       # the resolved config (olmo-core's and open-instruct's inside)
  olmo-stack lineage runs/demo/export/hf    # the chain from the exported model back to raw shards
  olmo-stack trace --run runs/demo --step 12
  olmo-stack index runs/demo                # suffix-array index of the run's pretraining tokens
  olmo-stack trace-text runs/demo "In the beginning God created the heaven"   # spans found in training data
  olmo-stack trace-text runs/demo --prompt "And God said" --min-len 6          # generate, then trace
  olmo-stack revisions runs/demo             # the revisions step{N}-tokens{M} pretraining published
  olmo-stack launch demo --cluster lumi --nodes 16 --account project_462000000 --out launch/
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
    demo.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    run = sub.add_parser("run", help="run the pipeline from a config (a preset name or a YAML file)")
    run.add_argument("config", help="demo, smoke, or a YAML file over the StackConfig schema")
    run.add_argument("overrides", nargs="*",
                     help="key=value overrides, e.g. pretrain.trainer.max_steps=500 adapt.dpo.optim.lr=1e-3")
    run.add_argument("--moe", action="store_true")
    run.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    run.add_argument("--until", help="stop after this stage (e.g. tokens: only the data stages)")
    launch = sub.add_parser("launch", help="write Ray (data) and Slurm (pretraining) launch files for a config")
    launch.add_argument("config", help="demo, smoke, or a YAML file")
    launch.add_argument("overrides", nargs="*")
    launch.add_argument("--cluster", default="a100", choices=["a100", "lumi"])
    launch.add_argument("--nodes", type=int, default=4)
    launch.add_argument("--account")
    launch.add_argument("--partition")
    launch.add_argument("--time")
    launch.add_argument("--run-preset", default="olmo_1b", help="olmo-core run preset for pretraining")
    launch.add_argument("--out", default="launch", help="folder for stack.yaml, data_ray.sh, pretrain.sbatch")
    lin = sub.add_parser("lineage", help="print the chain of stages that produced PATH, back to raw files")
    lin.add_argument("path")
    tr = sub.add_parser("trace", help="show the documents a pretraining step saw")
    tr.add_argument("--run", default="runs/demo", help="run folder (default: runs/demo)")
    tr.add_argument("--step", type=int, required=True)
    tr.add_argument("--json", action="store_true")
    from olmo_stack.tracing.commands import add_index_parser, add_trace_text_parser

    add_index_parser(sub)
    add_trace_text_parser(sub)
    from olmo_stack.revisions import add_revisions_parser

    add_revisions_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    # key=value overrides may follow options (`run smoke --until tokens data.executor=ray`): argparse
    # stops a nargs="*" positional at the first option, so the rest come back here
    args, extra = parser.parse_known_args(argv)
    if extra:
        if isinstance(getattr(args, "overrides", None), list) and all("=" in e and not e.startswith("-") for e in extra):
            args.overrides += extra
        else:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 0
    from olmo_core.dispatch import EXIT_BAD_INPUT, bad_input_errors

    try:
        return _run(parser, args)
    except Exception as e:
        if not isinstance(e, bad_input_errors()):  # bad input (a config, a path): say it, no traceback
            raise
        print(f"olmo-stack {args.command}: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    if args.command in ("demo", "run"):
        from olmo_stack.pipeline import load_stack_config, run_stack

        if args.command == "demo":
            cfg = load_stack_config(args.preset, moe=args.moe)
            cfg.out = args.out or f"runs/{args.preset}{'_moe' if args.moe else ''}"
        else:
            cfg = load_stack_config(args.config, args.overrides, moe=args.moe)
        if args.print_config:
            from omegaconf import OmegaConf

            print(OmegaConf.to_yaml(OmegaConf.structured(cfg)), end="")
            return 0
        run_stack(cfg, until=getattr(args, "until", None))
        return 0
    if args.command == "launch":
        from olmo_stack.launch import LaunchOptions, write_launch_files
        from olmo_stack.pipeline import load_stack_config

        files = write_launch_files(load_stack_config(args.config, args.overrides), args.out, LaunchOptions(
            cluster=args.cluster, nodes=args.nodes, account=args.account, partition=args.partition,
            time=args.time, run_preset=args.run_preset))
        for name, path in files.items():
            print(f"{name}: {path}")
        return 0
    if args.command == "lineage":
        from olmo_stack.stages import format_lineage, lineage

        print(format_lineage(lineage(Path(args.path))))
        return 0
    if args.command == "trace":
        from olmo_core.cli import main as olmo_core_main

        run_dir = Path(args.run) / "pretrain"
        extra = ["--json"] if args.json else []
        return olmo_core_main(["data-order", "--config", str(run_dir), "--step", str(args.step),
                               "--check-metrics", str(run_dir / "metrics.jsonl"), *extra])
    if args.command == "revisions":
        from olmo_stack.revisions import run_revisions

        return run_revisions(args)
    if args.command in ("index", "trace-text"):
        from olmo_stack.tracing.commands import run_command

        return run_command(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
