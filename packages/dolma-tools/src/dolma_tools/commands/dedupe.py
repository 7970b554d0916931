"""``dolma-tools dedupe``: exact dedup with a Bloom filter, or near-duplicates with MinHash LSH."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EPILOG = """examples:
  # duplicate paragraphs of the corpus, 2 processes, keep the filter for later
  dolma-tools dedupe --documents ../shared/data/corpus --destination out/attributes/dedupe \\
      --mode paragraph --processes 2 --save-filter out/corpus.bloom
  # decontamination: mark training paragraphs found in a read-only filter built from eval sets
  dolma-tools dedupe --documents train/ --destination out/attributes/decon --filter eval.bloom --read-only
  # near-duplicate documents
  dolma-tools dedupe --documents ../shared/data/corpus --destination out/attributes/minhash --mode minhash
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--documents", nargs="+", required=True, help="files, folders or globs of documents")
    parser.add_argument("--destination", default=None,
                        help="folder for attribute files (mirrors the inputs); default: the contract's "
                             "attributes/<name>/ beside a documents/ folder")
    parser.add_argument("--mode", choices=["id", "document", "paragraph", "minhash"], default="paragraph")
    parser.add_argument("--name", default=None, help="attribute set name (default: dedupe, or minhash)")
    parser.add_argument("--key", default="id", help="mode id: the field to compare, e.g. id or metadata.url")
    parser.add_argument("--ngram-length", type=int, default=0,
                        help="paragraph mode: compare word n-grams of this length (0: whole paragraphs)")
    parser.add_argument("--threshold", type=float, default=None,
                        help="fraction of n-grams seen (n-gram mode, default 0.5) or of signature agreement "
                             "(minhash, default 0.7) that makes a duplicate")
    parser.add_argument("--keep-empty", action="store_true", help="also compare empty / blank paragraphs")
    parser.add_argument("--min-length", type=int, default=0, help="ignore units shorter than this many characters")
    parser.add_argument("--expected-items", type=int, default=0, help="filter capacity (0: estimate from input size)")
    parser.add_argument("--false-positive-rate", type=float, default=1e-6)
    parser.add_argument("--filter", default=None, help="existing filter file to continue from or to mark with")
    parser.add_argument("--read-only", action="store_true", help="only mark items found in --filter; never add")
    parser.add_argument("--save-filter", default=None, help="write the filter here at the end")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--shingle-size", type=int, default=5, help="minhash: words per shingle")
    parser.add_argument("--bands", type=int, default=20, help="minhash: LSH bands")
    parser.add_argument("--rows", type=int, default=5, help="minhash: signature rows per band")
    parser.add_argument("--summary", default=None, help="also write the summary JSON here")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from dolma_tools.dedupe import BloomDedupeConfig, MinHashConfig, dedupe_files
    from dolma_tools.dedupe.minhash import minhash_dedupe

    if args.mode == "minhash":
        cfg = MinHashConfig(name=args.name or "minhash", shingle_size=args.shingle_size, bands=args.bands,
                            rows=args.rows, threshold=0.7 if args.threshold is None else args.threshold,
                            processes=args.processes)
        summary = minhash_dedupe(args.documents, cfg, destination=args.destination)
    else:
        if args.read_only and not args.filter:
            raise SystemExit("dolma-tools dedupe: --read-only needs --filter PATH")
        cfg = BloomDedupeConfig(mode=args.mode, name=args.name or "dedupe", key=args.key,
                                ngram_length=args.ngram_length,
                                threshold=0.5 if args.threshold is None else args.threshold,
                                skip_empty=not args.keep_empty, min_length=args.min_length,
                                expected_items=args.expected_items, false_positive_rate=args.false_positive_rate,
                                filter_path=args.filter, read_only=args.read_only, save_filter=args.save_filter,
                                processes=args.processes)
        summary = dedupe_files(args.documents, cfg, destination=args.destination, progress=not args.no_progress)
        summary.pop("per_file", None)
    text = json.dumps(summary, indent=2, sort_keys=True)
    print(text)
    if args.summary:
        Path(args.summary).parent.mkdir(parents=True, exist_ok=True)
        Path(args.summary).write_text(text + "\n")
    return 0
