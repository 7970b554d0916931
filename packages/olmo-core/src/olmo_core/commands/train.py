"""``olmo-core train``: pretrain from a preset plus hydra overrides, single-process or under torchrun."""

from __future__ import annotations

import argparse
import errno
import sys

EPILOG = """examples:
  # the tiny CPU preset on a tokenized dataset (dolma-tools tokens output)
  olmo-core train --preset tiny data.paths=[out/tokens] trainer.run_dir=runs/tiny trainer.max_steps=40
  # the same under FSDP2 with 2 processes on the CPU (gloo)
  torchrun --nproc_per_node 2 -m olmo_core.cli train --preset tiny data.paths=[out/tokens] parallel.param_dtype=float32
  # OLMo-1B pretraining hyperparameters on LUMI
  olmo-core train --preset olmo_1b cluster=lumi data.paths=[/data/dolma]
  # show the composed config and exit
  olmo-core train --preset olmo_7b --print-config
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--preset", default="tiny", help="run preset: tiny, olmo_1b, olmo_7b (default tiny)")
    parser.add_argument("--print-config", action="store_true", help="print the composed config and exit")
    parser.add_argument("overrides", nargs="*", help="hydra overrides, e.g. optim.lr=1e-3 model=small")


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from olmo_core.config.load import compose_run_config, to_objects

    cfg = compose_run_config(args.preset, args.overrides)
    if args.print_config:
        print(OmegaConf.to_yaml(cfg))
        return 0
    from olmo_core.checkpoint.manager import CheckpointWriteError
    from olmo_core.distributed.utils import destroy_distributed

    trainer = to_objects(cfg).build()
    try:
        trainer.fit()
    except OSError as e:
        # A full disk is the operator's to fix, not a bug: one line naming the path, no traceback.
        if not isinstance(e, CheckpointWriteError) and e.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        where = "" if isinstance(e, CheckpointWriteError) or e.filename else f" (writing under {trainer.run_dir})"
        print(f"olmo-core train: error: {e}{where}", file=sys.stderr)
        return 1
    finally:
        destroy_distributed()
    return 0
