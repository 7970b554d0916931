"""``olmo-core launch``: write the Slurm script of a run for an A100 cluster or LUMI."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """examples:
  olmo-core launch --preset olmo_1b --cluster lumi --nodes 16 --account project_462000000 -o olmo1b.sbatch \\
      data.paths=[/scratch/dolma/tokens]
  olmo-core launch --preset olmo_7b --cluster a100 --nodes 32 data.paths=[/data/tokens]
  sbatch olmo1b.sbatch
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="olmo_1b", help="run preset (tiny, olmo_1b, olmo_7b)")
    parser.add_argument("--cluster", default="a100", help="cluster preset: a100 or lumi")
    parser.add_argument("--nodes", type=int, help="number of nodes")
    parser.add_argument("--account", help="Slurm account")
    parser.add_argument("--partition", help="Slurm partition")
    parser.add_argument("--time", help="wall time, e.g. 48:00:00")
    parser.add_argument("--job-name", default="olmo")
    parser.add_argument("-o", "--output", help="write the script here (default: stdout)")
    parser.add_argument("overrides", nargs="*", help="training overrides, passed through to olmo-core train")


def run(args: argparse.Namespace) -> int:
    from olmo_core.config.load import run_preset
    from olmo_core.fileio import write_atomic
    from olmo_core.launch.slurm import render_slurm

    cluster_overrides = [f"cluster={args.cluster}"]
    for flag, key in (("nodes", "nodes"), ("account", "account"), ("partition", "partition"), ("time", "time")):
        value = getattr(args, flag)
        if value is not None:
            cluster_overrides.append(f"cluster.{key}={value}")
    cfg = run_preset(args.preset, cluster_overrides + list(args.overrides))
    extra = [o for o in cluster_overrides[1:]] + list(args.overrides)
    script = render_slurm(cfg.cluster, args.preset, extra, job_name=args.job_name)
    if args.output:
        print(f"wrote {write_atomic(Path(args.output), script)}")
    else:
        print(script, end="")
    return 0
