"""``open-instruct pref-acc``: held-out preference accuracy of a checkpoint on preference pairs."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  open-instruct pref-acc runs/tiny_dpo --data ../shared/data/instruct/dpo.jsonl.zst:200
  open-instruct pref-acc runs/tiny_sft/checkpoints/step60 --data pairs.parquet --max-length 1024
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="an olmo-core checkpoint folder, or a run folder (its latest checkpoint)")
    parser.add_argument("--data", nargs="+", required=True, help="preference sources (PATH[:COUNT|:PERCENT%%])")
    parser.add_argument("--max-length", type=int, default=2048)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", default=None)


def run(args: argparse.Namespace) -> int:
    import json

    import torch

    from open_instruct.data.cache import load_tokenized
    from open_instruct.evaluate import preference_accuracy
    from open_instruct.tokenizer import load_tokenizer
    from open_instruct.train.common import load_model, resolve_init

    cfg, ckpt = resolve_init(args.checkpoint)
    data, _ = load_tokenized("dpo", args.data, load_tokenizer(), max_length=args.max_length, seed=args.seed,
                             cache_dir=args.cache_dir)
    model = load_model(cfg, ckpt, torch.device("cpu"))
    print(json.dumps({"checkpoint": str(ckpt), **preference_accuracy(model, data, max_length=args.max_length)}))
    return 0
