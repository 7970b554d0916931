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
  # near-duplicate documents, the signature and bucket stages as Ray tasks
  dolma-tools dedupe --documents ../shared/data/corpus --destination out/attributes/minhash --mode minhash \\
      --executor ray
  # ... scored against a synth-corpus key file: precision and recall per Jaccard band
  dolma-tools dedupe --mode minhash --documents out/synth/documents --destination out/synth/minhash \
      --truth out/synth/truth.jsonl.gz --clusters out/synth/clusters.jsonl.gz
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
                        help="fraction of n-grams seen (n-gram mode, default 0.5) or the Jaccard similarity "
                             "(minhash, default 0.8) that makes a duplicate")
    parser.add_argument("--keep-empty", action="store_true", help="also compare empty / blank paragraphs")
    parser.add_argument("--min-length", type=int, default=0, help="ignore units shorter than this many characters")
    parser.add_argument("--expected-items", type=int, default=0, help="filter capacity (0: estimate from input size)")
    parser.add_argument("--false-positive-rate", type=float, default=1e-6)
    parser.add_argument("--filter", default=None, help="existing filter file to continue from or to mark with")
    parser.add_argument("--read-only", action="store_true", help="only mark items found in --filter; never add")
    parser.add_argument("--save-filter", default=None, help="write the filter here at the end")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--shingle-size", type=int, default=5, help="minhash: words per shingle")
    parser.add_argument("--bands", type=int, default=14, help="minhash: LSH bands (datatrove's default 14)")
    parser.add_argument("--rows", type=int, default=8, help="minhash: signature rows per band (datatrove's 8)")
    parser.add_argument("--verify", choices=["exact", "signature", "none"], default="exact",
                        help="minhash: score of a candidate pair checked against --threshold: exact Jaccard, "
                             "signature agreement, or none (every candidate joins, as datatrove)")
    parser.add_argument("--work-dir", default=None, help="minhash: folder for the stage files (default: system temp)")
    parser.add_argument("--keep-work", action="store_true", help="minhash: keep the stage files")
    parser.add_argument("--clusters", default=None, help="minhash: also write {id, kept} of every duplicate here")
    parser.add_argument("--truth", default=None,
                        help="minhash: a synth-corpus key file; the summary gains precision/recall per Jaccard band")
    parser.add_argument("--summary", default=None, help="also write the summary JSON here")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where files are read and hashed: local processes (default) or Ray tasks (Bloom: the filter stays in this process; minhash: signatures a task per file, buckets a task per band)")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: $RAY_ADDRESS or a "
                        "local instance); the outputs and work folders must be on a filesystem every node reaches")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from dolma_tools.atomic import remove_stale_temporaries, write_text_atomic
    from dolma_tools.dedupe import BloomDedupeConfig, MinHashConfig, dedupe_files
    from dolma_tools.dedupe.minhash import minhash_dedupe

    if args.summary:  # written last: an earlier run's summary must not outlive this run's outputs
        Path(args.summary).unlink(missing_ok=True)

    if args.mode == "minhash":
        cfg = MinHashConfig(name=args.name or "minhash", shingle_size=args.shingle_size, bands=args.bands,
                            rows=args.rows, threshold=0.8 if args.threshold is None else args.threshold,
                            processes=args.processes, verify=args.verify, work_dir=args.work_dir,
                            keep_work=args.keep_work)
        summary = minhash_dedupe(args.documents, cfg, destination=args.destination, clusters_file=args.clusters,
                                 truth=args.truth, progress=not args.no_progress, executor=args.executor,
                                 ray_address=args.ray_address)
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
        summary = dedupe_files(args.documents, cfg, destination=args.destination, progress=not args.no_progress,
                               executor=args.executor, ray_address=args.ray_address)
        summary.pop("per_file", None)
    text = json.dumps(summary, indent=2, sort_keys=True)
    print(text)
    if args.summary:  # never a half-written summary a killed run left, nor its temporary
        remove_stale_temporaries(args.summary)
        write_text_atomic(args.summary, text + "\n")
    return 0
