"""``dolma-tools index``: a suffix-array index over token shards, and queries on it."""

from __future__ import annotations

import argparse
import json
import sys

EPILOG = """examples:
  dolma-tools index build --tokens out/tokens --destination out/index --memory-mb 512
  dolma-tools index count --index out/index --text "In the beginning God created"
  dolma-tools index locate --index out/index --ids 510,253,3135 --limit 5
  dolma-tools index spans --index out/index --text "..." --min-len 8
build: out of core, at most about --memory-mb for one batch of suffixes (the stream is memory-mapped);
index.json is written last, with the build time and peak memory. Queries read the index memory-mapped.
--text is tokenized with --tokenizer (default: the shipped OLMo tokenizer), without EOS.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["build", "count", "locate", "spans"])
    parser.add_argument("--tokens", nargs="+", help="build: token shard folders or files")
    parser.add_argument("--destination", help="build: the index folder to write")
    parser.add_argument("--memory-mb", type=int, default=1024, help="build: memory budget for one batch of suffixes")
    parser.add_argument("--dtype", choices=["uint16", "uint32"], default=None,
                        help="build: dtype of Dolma shards that have no sidecar")
    parser.add_argument("--index", help="queries: the index folder")
    parser.add_argument("--ids", help="queries: comma-separated token ids")
    parser.add_argument("--text", help="queries: text, tokenized with --tokenizer")
    parser.add_argument("--tokenizer", default=None, help="tokenizer JSON (default: the shipped OLMo one)")
    parser.add_argument("--limit", type=int, default=10, help="locate: at most this many occurrences")
    parser.add_argument("--min-len", type=int, default=8, help="spans: minimum span length in tokens")
    parser.add_argument("--no-progress", action="store_true")


def _query_ids(args: argparse.Namespace) -> list[int]:
    if (args.ids is None) == (args.text is None):
        raise ValueError("give exactly one of --ids or --text")
    if args.ids is not None:
        try:
            return [int(x) for x in args.ids.split(",") if x.strip()]
        except ValueError as e:
            raise ValueError(f"--ids: expected comma-separated integers: {e}") from e
    from dolma_tools.tokens.tokenizer import load_tokenizer

    return load_tokenizer(args.tokenizer).tokenizer.encode(args.text, add_special_tokens=False).ids


def run(args: argparse.Namespace) -> int:
    from dolma_tools.index import IndexConfig, TokenIndex, build_index

    if args.action == "build":
        if not args.tokens or not args.destination:
            raise ValueError("build needs --tokens and --destination")
        say = None if args.no_progress else (lambda m: print(m, file=sys.stderr, flush=True))
        summary = build_index(args.tokens, args.destination, IndexConfig(memory_mb=args.memory_mb, dtype=args.dtype),
                              progress=say)
        print(json.dumps({k: v for k, v in summary.items() if k != "shards"}, indent=2))
        print(f"indexed {summary['num_tokens']:,} tokens of {summary['num_documents']:,} documents in "
              f"{summary['seconds']:.1f}s, {summary['batches']} batches, peak RSS {summary['peak_rss_mb']:,.0f} MiB",
              file=sys.stderr)
        return 0
    if not args.index:
        raise ValueError(f"{args.action} needs --index")
    ids = _query_ids(args)
    with TokenIndex(args.index) as index:
        if args.action == "count":
            print(json.dumps({"ids": ids, "count": index.count(ids)}))
        elif args.action == "locate":
            occ = index.locate(ids, args.limit)
            print(json.dumps({"ids": ids, "count": index.count(ids), "occurrences": [o.to_json() for o in occ]}))
        else:
            spans = index.maximal_spans(ids, args.min_len, [index.eos_id] if index.eos_id is not None else [])
            print(json.dumps({"ids": ids, "spans": [{"start": s.start, "end": s.end, "count": s.count}
                                                    for s in spans]}))
    return 0
