"""``dolma-tools tokens``: documents to token arrays."""

from __future__ import annotations

import argparse
import json

EPILOG = """example:
  dolma-tools tokens --documents ../shared/data/corpus --destination out/tokens --max-tokens-per-file 50000000
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--documents", nargs="+", required=True, help="files, folders or globs of documents")
    parser.add_argument("--destination", required=True, help="output folder for part-NNNNN.npy + sidecars")
    parser.add_argument("--tokenizer", default=None, help="tokenizer JSON (default: the shipped OLMo one)")
    parser.add_argument("--max-tokens-per-file", type=int, default=2**28)
    parser.add_argument("--batch-size", type=int, default=256)


def run(args: argparse.Namespace) -> int:
    from dolma_tools.tokens import tokenize_files

    summary = tokenize_files(args.documents, args.destination, tokenizer=args.tokenizer,
                             max_tokens_per_file=args.max_tokens_per_file, batch_size=args.batch_size)
    print(json.dumps(summary, indent=2))
    return 0
