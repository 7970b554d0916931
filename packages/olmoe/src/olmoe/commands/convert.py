"""``olmoe convert``: ``olmo-core convert``, whose converter lookup finds olmoe's (OlmoeForCausalLM) through
the plug-in entry point."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  # an MoE olmo-core checkpoint -> a folder transformers loads as OlmoeForCausalLM
  olmoe convert to-hf runs/moe/checkpoints/step1000 out/moe-hf
  # a local copy of allenai/OLMoE-1B-7B-0924 (per-expert or fused weights) -> an olmo-core checkpoint
  olmoe convert from-hf ~/models/OLMoE-1B-7B-0924 out/olmoe-1b-7b
  # a random tiny MoE, to try the round trip
  olmoe convert init --preset olmoe_tiny out/moe-random
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from olmo_core.commands.convert import add_arguments as olmo_core_arguments

    olmo_core_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from olmo_core.commands.convert import run as olmo_core_run

    return olmo_core_run(args)
