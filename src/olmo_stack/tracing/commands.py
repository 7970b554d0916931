"""``olmo-stack index`` and ``olmo-stack trace-text``: their arguments and what they run. Parsing
imports nothing heavy; the work is imported when a command runs."""

from __future__ import annotations

import argparse
import json
import sys

INDEX_EPILOG = """examples:
  olmo-stack index runs/demo                  # the shards pretraining read, in its order; reused while unchanged
  olmo-stack index runs/demo --memory-mb 256 --force
"""
TRACE_EPILOG = """examples:
  olmo-stack trace-text runs/demo "In the beginning God created the heaven and the earth."
  olmo-stack trace-text runs/demo --prompt "And God said" --max-new-tokens 32 --min-len 6
  olmo-stack trace-text runs/demo "..." --json > trace.json
Each span: its count in the training tokens, up to --max-occurrences documents (id, source, document
file and line, token shard and offset) and the steps whose batches held it (see trace --step N).
"""


def add_index_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="build a suffix-array index over a run's pretraining tokens (<run>/index)",
                       epilog=INDEX_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder, e.g. runs/demo")
    p.add_argument("--memory-mb", type=int, default=1024, help="memory budget for one batch of suffixes")
    p.add_argument("--force", action="store_true", help="rebuild even if the index is current")


def add_trace_text_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("trace-text", help="find the spans of a text (or a generation) in the run's training data",
                       epilog=TRACE_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", help="run folder with an index (olmo-stack index RUN)")
    p.add_argument("text", nargs="?", help="the text to trace")
    p.add_argument("--prompt", help="generate from this prompt with the run's model, then trace the output")
    p.add_argument("--min-len", type=int, default=8, help="shortest span reported, in tokens (default 8)")
    p.add_argument("--max-occurrences", type=int, default=10, help="documents listed per span")
    p.add_argument("--max-new-tokens", type=int, default=48, help="--prompt: tokens to generate")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run_command(args: argparse.Namespace) -> int:
    if args.command == "index":
        from olmo_stack.tracing.run_index import build_run_index

        summary = build_run_index(args.run, memory_mb=args.memory_mb, force=args.force,
                                  progress=lambda m: print(m, file=sys.stderr, flush=True))
        state = "current, reused" if summary.get("reused") else f"built in {summary['seconds']:.1f}s"
        print(f"{args.run}/index: {summary['num_tokens']:,} tokens of {summary['num_documents']:,} documents "
              f"({state}; peak RSS {summary['peak_rss_mb']:,.0f} MiB)")
        return 0
    from olmo_stack.tracing.trace_text import format_trace, trace_text

    trace = trace_text(args.run, args.text, prompt=args.prompt, min_len=args.min_len,
                       max_occurrences=args.max_occurrences, max_new_tokens=args.max_new_tokens)
    print(json.dumps(trace.to_json()) if args.json else format_trace(trace))
    return 0
