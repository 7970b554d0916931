"""``dolma-tools train-classifier``: train a fastText classifier from labelled documents."""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  # label = the document's source; 10% held out for the reported precision
  dolma-tools train-classifier --documents data/*.jsonl.zst --label-field source --output quality.bin
  # label from metadata, sentence-level use afterwards with the fasttext_classifier tagger
  dolma-tools train-classifier --documents labelled/ --label-field metadata.quality --output q.bin --epoch 10
  dolma-tools tag --documents data/ --attributes-root attrs --taggers fasttext_classifier:model_path=q.bin
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--documents", nargs="+", required=True, help="labelled documents (files, folders, globs)")
    parser.add_argument("--label-field", default="metadata.label",
                        help="dotted path of the label in each JSON line (default metadata.label; e.g. source)")
    parser.add_argument("--output", required=True, help="model path (.bin; .ftz quantizes)")
    parser.add_argument("--valid-fraction", type=float, default=0.1, help="held out for evaluation (default 0.1)")
    parser.add_argument("--epoch", type=int, default=5)
    parser.add_argument("--lr", type=float, default=0.5)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--word-ngrams", type=int, default=2)
    parser.add_argument("--min-count", type=int, default=1)
    parser.add_argument("--max-chars", type=int, default=20000, help="characters of each document used (default 20000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=None)


def run(args: argparse.Namespace) -> int:
    from dolma_tools.taggers.train import train_classifier

    report = train_classifier(args.documents, args.output, label_field=args.label_field,
                              valid_fraction=args.valid_fraction, epoch=args.epoch, lr=args.lr, dim=args.dim,
                              word_ngrams=args.word_ngrams, min_count=args.min_count, max_chars=args.max_chars,
                              seed=args.seed, threads=args.threads)
    print(json.dumps(report, indent=2))
    return 0
