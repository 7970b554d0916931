"""``dolma-tools tokens``: documents to token arrays."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

EPILOG = """examples:
  dolma-tools tokens --documents ../shared/data/corpus --destination out/tokens --processes 2
  dolma-tools tokens --documents mix/ --destination out/tokens --max-tokens-per-file 50000000 --shuffle-seed 7
  dolma-tools tokens --documents docs/ --destination out/tokens-npy --array-format npy
  # tokenize on the Ray cluster at $RAY_ADDRESS (one task a file), pack here
  dolma-tools tokens --documents mix/ --destination out/tokens --executor ray
Shards are part-NNNNN.npy (headerless uint16/uint32 ids, EOS after every document: what Dolma's
`tokens` writes and OLMo-core's numpy datasets read), Dolma's part-NNNNN.csv.gz metadata and our
part-NNNNN.docs.jsonl sidecar (written last); --array-format npy writes NumPy .npy files instead.
A killed run resumes when started again with the same arguments; the output is byte-identical
whatever --processes or --executor is.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--documents", nargs="+", required=True, help="files, folders or globs of documents")
    parser.add_argument("--destination", required=True, help="output folder for part-NNNNN.npy + metadata")
    parser.add_argument("--tokenizer", default=None, help="tokenizer JSON (default: the shipped OLMo one)")
    parser.add_argument("--eos-id", type=int, default=50279)
    parser.add_argument("--pad-id", type=int, default=1)
    parser.add_argument("--max-tokens-per-file", type=int, default=2**28)
    parser.add_argument("--batch-size", type=int, default=256, help="documents per tokenizer call")
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--shuffle-seed", type=int, default=None, help="shuffle documents with this seed")
    parser.add_argument("--limit", type=int, default=None, help="keep only the first N documents")
    parser.add_argument("--keep-work", action="store_true", help="keep the per-file work units at the end")
    parser.add_argument("--summary", default=None, help="also write the summary JSON here")
    parser.add_argument("--array-format", choices=["memmap", "npy"], default="memmap",
                        help="memmap: headerless ids + Dolma's .csv.gz (default); npy: NumPy .npy files")
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="where files are tokenized: local processes (default) or one Ray task a file; packing runs here")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: $RAY_ADDRESS or a "
                        "local instance); the outputs and work folders must be on a filesystem every node reaches")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from dolma_tools.atomic import remove_stale_temporaries, write_text_atomic
    from dolma_tools.tokens import tokenize_files

    if args.summary:  # written last: an earlier run's summary must not outlive this run's outputs
        Path(args.summary).unlink(missing_ok=True)

    summary = tokenize_files(args.documents, args.destination, tokenizer=args.tokenizer,
                             max_tokens_per_file=args.max_tokens_per_file, batch_size=args.batch_size,
                             processes=args.processes, shuffle_seed=args.shuffle_seed, limit=args.limit,
                             progress=not args.no_progress, eos_id=args.eos_id, pad_id=args.pad_id,
                             keep_work=args.keep_work, array_format=args.array_format,
                             executor=args.executor, ray_address=args.ray_address)
    text = json.dumps(summary, indent=2)
    print(text)
    if args.summary:  # never a half-written summary a killed run left, nor its temporary
        remove_stale_temporaries(args.summary)
        write_text_atomic(args.summary, text + "\n")
    return 0
