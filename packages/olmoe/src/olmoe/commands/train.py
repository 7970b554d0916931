"""``olmoe train``: olmo-core's trainer plus the routing-metrics callback (olmo-core finds olmoe's presets
and callback through its plug-in entry point)."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  # the tiny MoE (8 experts, top-2) on a tokenized dataset, with routing metrics
  olmoe train --preset tiny model=olmoe_tiny data.paths=[out/tokens] trainer.run_dir=runs/moe
  # the same under FSDP2 with 2 processes on the CPU (gloo)
  torchrun --nproc_per_node 2 -m olmoe.cli train --preset tiny model=olmoe_tiny data.paths=[out/tokens] \\
      parallel.param_dtype=float32
  # OLMoE-1B-7B with the OLMo-1B recipe; show the composed config
  olmoe train --preset olmo_1b model=olmoe_1b_7b --print-config
Everything after the options is passed to `olmo-core train` (hydra overrides), plus the routing_metrics
callback unless trainer.callbacks.routing_metrics is set. Plain `olmo-core train` trains an MoE too
(olmoe is an olmo-core plug-in): `olmo-core train --preset tiny model=olmoe_tiny` plus
'+trainer.callbacks.routing_metrics={}' for the routing metrics.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from olmo_core.commands.train import add_arguments as olmo_core_arguments

    olmo_core_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from olmo_core.commands.train import run as olmo_core_run

    if not any("trainer.callbacks.routing_metrics" in o for o in args.overrides):
        args.overrides = [*args.overrides, "+trainer.callbacks.routing_metrics={}"]
    return olmo_core_run(args)
