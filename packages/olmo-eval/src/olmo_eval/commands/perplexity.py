"""``olmo-eval perplexity``: Paloma-style perplexity over ``<source>/<subdomain>/*.jsonl.gz|zst``."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """examples:
  olmo-eval perplexity --model runs/tiny/checkpoints/step1000 --data ../shared/data/corpus --out eval/ppl
  olmo-eval perplexity --model hf-folder --data paloma/ --max-docs 100 --device cuda --out eval/ppl

Each document is scored alone in non-overlapping windows of the model's length. Writes
OUT/perplexity.json (per subdomain: ppl, bits per byte, tokens, bytes, summed NLL; macro averages
per source and overall) and OUT/documents.jsonl.gz (per document NLL and counts).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="olmo-core checkpoint folder or HF model folder")
    parser.add_argument("--data", required=True, type=Path, help="folder of <source>/<subdomain>/*.jsonl.gz|zst")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--tokenizer", type=Path, default=None)
    parser.add_argument("--max-docs", type=int, default=None, help="documents per subdomain (default: all)")
    parser.add_argument("--device", default=None)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--token-budget", type=int, default=None)
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    import torch
    from rich.console import Console

    from olmo_eval.models import load_model
    from olmo_eval.perplexity import perplexity_table, run_perplexity

    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, tokenizer = load_model(args.model, device=device, dtype=getattr(torch, args.dtype), tokenizer=args.tokenizer)
    result = run_perplexity(model, tokenizer, args.data, args.out, max_docs_per_subdomain=args.max_docs,
                            token_budget=args.token_budget, show_progress=not args.no_progress)
    Console().print(perplexity_table(result))
    print(f"wrote {args.out / 'perplexity.json'}")
    return 0
