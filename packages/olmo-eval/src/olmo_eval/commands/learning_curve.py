"""``olmo-eval learning-curve``: score every revision of a repo in a local Hugging Face hub cache."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """examples:
  olmo-eval learning-curve --hub runs/demo/pretrain/hub --out eval/curve
  olmo-eval learning-curve --hub ~/.cache/huggingface/hub --repo-id allenai/OLMo-1B --tasks arc_easy,piqa \\
      --limit 200 --heldout paloma/ --out eval/olmo1b-curve

Each ref (step{N}-tokens{M}, as olmo-core's hub_revisions callback or the OLMo releases name them)
is loaded from the cache (no network) and scored with the same tasks and, with --heldout, held-out
perplexity. Writes OUT/learning_curve.json (one row per revision, in step order),
OUT/learning_curve.png and OUT/<revision>/ (each revision's full results).
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", required=True, type=Path, help="a hub cache folder (HF_HOME/hub)")
    parser.add_argument("--repo-id", default=None, help="ORG/NAME (default: the cache's only model repo)")
    parser.add_argument("--tasks", default="arc_easy", help="tasks or suites, comma-separated (default arc_easy)")
    parser.add_argument("--limit", type=int, default=40, help="instances per task (default 40)")
    parser.add_argument("--heldout", type=Path, default=None,
                        help="perplexity documents, <source>/<subdomain>/*.jsonl.gz|zst (optional)")
    parser.add_argument("--max-docs", type=int, default=5, help="--heldout: documents per subdomain (default 5)")
    parser.add_argument("--out", required=True, type=Path)


def run(args: argparse.Namespace) -> int:
    from olmo_eval.files import write_json
    from olmo_eval.learning_curve import plot_learning_curve, score_revisions

    rows = score_revisions(args.hub, args.out, repo_id=args.repo_id, tasks=args.tasks, limit=args.limit,
                           heldout=args.heldout, max_docs_per_subdomain=args.max_docs)
    write_json(args.out / "learning_curve.json", rows)
    plot = plot_learning_curve(rows, args.out / "learning_curve.png")
    print(f"{len(rows)} revisions scored: {args.out / 'learning_curve.json'}" + (f", {plot}" if plot else ""))
    return 0
