"""``open-instruct grpo``: RL with verifiable rewards (GRPO, Dr. GRPO, DAPO) on olmo-core's trainer."""

from __future__ import annotations

import argparse

from open_instruct.commands import sft

EPILOG = """examples:
  # a procedural task suite, then GRPO from an SFT run on its training prompts
  open-instruct tasks runs/tasks --train-per-family 200 --heldout-per-family 50
  open-instruct grpo --preset tiny_grpo init_from=runs/tiny_sft tasks=runs/tasks/train.jsonl trainer.run_dir=runs/grpo
  # Dr. GRPO (no std scaling, constant normalizer) with a KL penalty to the starting model
  open-instruct grpo --preset tiny_grpo loss_type=dr_grpo beta=0.04 tasks=runs/tasks/train.jsonl
  # held-out verified accuracy during training (every 20 steps and at the end)
  open-instruct grpo --preset tiny_grpo tasks=runs/tasks/train.jsonl \\
      '+trainer.callbacks.heldout_verified={path: runs/tasks/heldout.jsonl, every: 20}'
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sft.add_arguments(parser, default_preset="tiny_grpo")


def run(args: argparse.Namespace) -> int:
    return sft.run(args, kind="grpo")
