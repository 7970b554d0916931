"""``dolma-tools analyze``: corpus statistics, plots and a markdown summary."""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  dolma-tools analyze --documents ../shared/data/corpus --destination out/analysis --processes 2
  # with attributes from tag/dedupe and a contamination filter built from eval sets
  dolma-tools analyze --documents data/documents --attributes dedupe lang --destination out/analysis \\
      --contamination-filter eval.bloom
Writes analysis.json, summary.md and PNG plots into --destination.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--documents", nargs="+", required=True, help="files, folders or globs of documents")
    parser.add_argument("--destination", required=True, help="folder for analysis.json, summary.md, *.png")
    parser.add_argument("--attributes", nargs="*", default=[], help="attribute sets to read")
    parser.add_argument("--attributes-root", default=None,
                        help="folder holding <set>/<rel> attribute files (default: Dolma layout)")
    parser.add_argument("--ngram-sizes", type=int, nargs="*", default=[1, 2, 3])
    parser.add_argument("--top-k", type=int, default=20)
    parser.add_argument("--exact-ngram-limit-bytes", type=int, default=8_000_000,
                        help="inputs larger than this on disk count n-grams with a count-min sketch")
    parser.add_argument("--tokenizer", default="default", help="tokenizer JSON for token counts, or 'none'")
    parser.add_argument("--contamination-filter", default=None, help="read-only Bloom filter of eval paragraphs")
    parser.add_argument("--language-model", default=None,
                        help="fastText lid model to detect languages when no language attributes are given")
    parser.add_argument("--processes", type=int, default=1)


def run(args: argparse.Namespace) -> int:
    from dolma_tools.analysis import AnalysisConfig, analyze

    cfg = AnalysisConfig(attributes=args.attributes, attributes_root=args.attributes_root,
                         ngram_sizes=args.ngram_sizes, top_k=args.top_k,
                         exact_ngram_limit_bytes=args.exact_ngram_limit_bytes,
                         tokenizer=None if args.tokenizer == "none" else args.tokenizer,
                         contamination_filter=args.contamination_filter, language_model=args.language_model,
                         processes=args.processes)
    report = analyze(args.documents, args.destination, cfg)
    print(json.dumps({"totals": report["totals"], "languages": report["languages"],
                      "contamination": report.get("contamination"), "plots": report["plots"],
                      "seconds": report["seconds"]}, indent=2))
    print(f"summary: {args.destination}/summary.md")
    return 0
