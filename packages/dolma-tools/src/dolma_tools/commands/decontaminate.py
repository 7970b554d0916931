"""``dolma-tools decontaminate``: drop (or flag) training documents holding evaluation paragraphs."""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  # eval paragraphs exported as Dolma documents (one per eval instance), then the scan
  olmo-eval decontaminate export --tasks core9 --out decon/eval_documents
  dolma-tools decontaminate --eval-documents decon/eval_documents --documents ../shared/data/corpus \\
      --destination decon
  # word 13-gram overlap instead of whole paragraphs; flag only (attributes for `dolma-tools mix`)
  dolma-tools decontaminate --eval-documents evals/ --documents train/ --destination decon \\
      --ngram-length 13 --threshold 0.5 --flag-only
  # the scan as Ray tasks, one a training file (a local Ray instance with 2 CPUs)
  dolma-tools decontaminate --eval-documents evals/ --documents train/ --destination decon --executor ray \\
      --processes 2

Indexes every eval paragraph of at least --min-words words in a Bloom filter cached under
DESTINATION/index/eval-<key>.bloom, where <key> hashes the eval documents' ids and texts: other eval
data get another filter, never a stale one. Each hit is confirmed exactly. Writes
DESTINATION/attributes/<name>/<rel> (spans of contaminated paragraphs per training document),
DESTINATION/clean/<rel> (the documents without any, unless --flag-only), DESTINATION/eval_attributes/<rel>
(per eval document, its paragraphs seen in training data) and DESTINATION/report.json. A rerun
against the same index skips the files already scanned.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from dolma_tools.decont import DecontConfig

    d = DecontConfig()
    parser.add_argument("--eval-documents", nargs="+", required=True,
                        help="eval data as Dolma documents: files, folders or globs")
    parser.add_argument("--documents", nargs="+", required=True, help="training documents: files, folders or globs")
    parser.add_argument("--destination", required=True, help="output folder")
    parser.add_argument("--name", default=d.name, help="attribute set name (default: %(default)s)")
    parser.add_argument("--min-words", type=int, default=d.min_words,
                        help="index eval paragraphs of at least this many words (default: %(default)s)")
    parser.add_argument("--ngram-length", type=int, default=d.ngram_length,
                        help="0: whole paragraphs; N: word N-grams (default: %(default)s)")
    parser.add_argument("--threshold", type=float, default=d.threshold,
                        help="n-gram mode: fraction of a paragraph's n-grams that marks it (default: %(default)s)")
    parser.add_argument("--false-positive-rate", type=float, default=d.false_positive_rate)
    parser.add_argument("--index-dir", default=None, help="where filters are cached (default: DESTINATION/index)")
    parser.add_argument("--flag-only", action="store_true", help="write attributes only, no clean/ copy")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where the training files are scanned: this process (default) or one Ray task a file")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: $RAY_ADDRESS or a "
                        "local instance); the outputs and work folders must be on a filesystem every node reaches")
    parser.add_argument("--processes", type=int, default=None,
                        help="--executor ray: CPUs of a local Ray instance (default: every core)")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from dolma_tools.decont import DecontConfig, decontaminate

    cfg = DecontConfig(name=args.name, min_words=args.min_words, ngram_length=args.ngram_length,
                       threshold=args.threshold, false_positive_rate=args.false_positive_rate,
                       drop=not args.flag_only, index_dir=args.index_dir)
    bar = None
    if not args.no_progress:
        from tqdm import tqdm

        from dolma_tools.docio import expand_inputs

        bar = tqdm(total=len(expand_inputs(args.documents)), desc="decontaminate", unit="file")
    try:
        report = decontaminate(args.eval_documents, args.documents, args.destination, cfg,
                               progress=bar.update if bar is not None else None,
                               executor=args.executor, processes=args.processes,
                               ray_address=args.ray_address)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    idx = report["index"]
    print(f"index {idx['path']} ({'built' if idx['rebuilt'] else 'reused'}): {idx['eval_paragraphs']:,} paragraphs "
          f"of {idx['eval_documents']:,} eval documents")
    _table(f"{report['documents_contaminated']} of {report['documents']} training documents contaminated"
                + (" and dropped" if report["drop"] else " (flagged)"),
                ["training source", "documents", "contaminated", "paragraphs matched"],
                [[s, v["documents"], v["documents_contaminated"], v["paragraphs_matched"]]
                 for s, v in report["per_source"].items()])
    _table("per eval source", ["eval source", "eval documents", "seen in training", "training documents"],
                [[s, v["eval_documents"], v["eval_documents_contaminated"], v["training_documents_matched"]]
                 for s, v in report["per_eval_source"].items() if v["eval_documents_contaminated"]])
    print(f"wrote {args.destination}/report.json")
    return 0


def _table(title: str, columns: list[str], rows: list[list[object]]) -> None:
    import sys

    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*(f"{v:,}" if isinstance(v, int) else str(v) for v in row))
    Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200).print(t)
