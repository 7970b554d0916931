"""``dolma-tools pipeline``: tag, filter, dedupe, mix and tokenize in one command."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  # the shipped config: all of ../shared/data/corpus to token arrays, run from the repository root
  dolma-tools pipeline corpus
  # a YAML config of your own, with hydra-style overrides
  dolma-tools pipeline my_pipeline.yaml processes=4 work_dir=/tmp/run tokens.shuffle_seed=7
  dolma-tools pipeline corpus --print-config
Finished steps are recorded under <work_dir>/steps/ and skipped when the command runs again.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", nargs="?", default="corpus",
                        help="a shipped config name (corpus) or a YAML file (default: corpus)")
    parser.add_argument("overrides", nargs="*", help="key=value overrides, e.g. processes=4")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from omegaconf import OmegaConf

    from dolma_tools.pipeline import load_pipeline_config, run_pipeline

    cfg = load_pipeline_config(args.config, args.overrides)
    if args.no_progress:
        cfg.progress = False
    if args.print_config:
        print(OmegaConf.to_yaml(OmegaConf.structured(cfg)))
        return 0
    run_pipeline(cfg)
    return 0
