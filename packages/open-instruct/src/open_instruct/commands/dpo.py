"""``open-instruct dpo``: preference tuning (DPO, dpo_norm, IPO, SimPO, hinge) with olmo-core's trainer."""

from __future__ import annotations

import argparse

from open_instruct.commands import sft

EPILOG = """examples:
  # tiny CPU run from the tiny SFT run; prints held-out preference accuracy before and after
  open-instruct dpo --preset tiny_dpo init_from=runs/tiny_sft trainer.run_dir=runs/tiny_dpo
  # Tulu 3's length-normalised DPO
  open-instruct dpo --preset tulu3_dpo_norm_olmo_7b init_from=runs/tulu2_sft_olmo_7b
  # another loss on the tiny preset
  open-instruct dpo --preset tiny_dpo dpo.loss=ipo dpo.beta=0.5
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sft.add_arguments(parser, default_preset="tiny_dpo")


def run(args: argparse.Namespace) -> int:
    return sft.run(args, kind="dpo")
