"""``open-instruct sft``: supervised fine-tuning on chat data with olmo-core's trainer."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  # tiny CPU run from a pretrained olmo-core checkpoint on the shared instruct data
  open-instruct sft --preset tiny_sft init_from=runs/pretrain/checkpoints/step40 trainer.run_dir=runs/tiny_sft
  # mix two sources: 1000 examples of one, a quarter of the other (integers count, % is a fraction)
  open-instruct sft --preset tiny_sft 'data.sources=[a.jsonl:1000,b.parquet:25%]'
  # OLMo-7B on the Tulu 2 recipe under FSDP2
  torchrun --nproc_per_node 8 -m open_instruct.cli sft --preset tulu2_sft_olmo_7b init_from=ckpts/olmo-7b
  # print the composed config
  open-instruct sft --preset tulu2_sft_olmo_7b --print-config
"""


#: Kept literal so --help needs no torch import; tests/test_cli.py checks it against RUN_PRESETS.
PRESET_NAMES = ("tiny_sft", "tiny_dpo", "tiny_grpo", "tulu2_sft_olmo_7b", "tulu2_dpo_olmo_7b",
                "tulu3_dpo_norm_olmo_7b")


def add_arguments(parser: argparse.ArgumentParser, default_preset: str = "tiny_sft") -> None:
    parser.add_argument("--preset", default=default_preset,
                        help=f"run preset (default {default_preset}): {', '.join(PRESET_NAMES)}")
    parser.add_argument("--print-config", action="store_true", help="print the composed config and exit")
    parser.add_argument("overrides", nargs="*", help="hydra overrides, e.g. optim.lr=1e-5 batch.epochs=1")


def run(args: argparse.Namespace, kind: str = "sft") -> int:
    from omegaconf import OmegaConf

    from open_instruct.train.presets import compose_config, config_kind

    cfg = compose_config(args.preset, args.overrides)
    if config_kind(cfg) != kind:
        raise SystemExit(f"--preset {args.preset} is a {config_kind(cfg)} preset; use `open-instruct {config_kind(cfg)}`")
    if args.print_config:
        print(OmegaConf.to_yaml(OmegaConf.structured(cfg)))
        return 0
    from olmo_core.distributed.utils import destroy_distributed
    from open_instruct.train.run import run as run_training

    try:
        summary = run_training(cfg)
    finally:
        destroy_distributed()
    loss = summary.get("final_loss")
    print(f"{kind} done: {summary['steps']} steps, final loss {'n/a' if loss is None else f'{loss:.4f}'}, "
          f"checkpoint {summary['checkpoint']}")
    return 0
