"""``olmo-eval decontaminate``: drop training documents that contain evaluation paragraphs."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """examples:
  olmo-eval decontaminate --train ../shared/data/corpus --out decon/
  olmo-eval decontaminate --train data/documents --tasks core9 --min-words 13 --out decon/ --bloom decon/eval.bloom

Exports the tasks' paragraphs of at least --min-words words (OUT/eval_documents/), builds a Bloom
filter of them with dolma-tools (needs the `decontam` extra), scans the training documents read-only,
writes the documents without any contaminated paragraph to OUT/clean/ (same layout), and writes
OUT/report.json (per task and per training source) and OUT/clean_flags.json (per instance; pass it
to `olmo-eval run --clean-flags`). Rerunning skips files already scanned.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--train", required=True, type=Path, help="training documents (a folder, searched recursively)")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--tasks", default="core9,mmlu", help="tasks and suites whose data is checked (default: %(default)s)")
    parser.add_argument("--min-words", type=int, default=13)
    parser.add_argument("--false-positive-rate", type=float, default=1e-6)
    parser.add_argument("--bloom", type=Path, default=None, help="filter file to reuse or create (default: OUT/eval_paragraphs.bloom)")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from dolma_tools.docio import expand_inputs
    from olmo_eval.decontam import decontaminate

    n_files = len(expand_inputs(args.train))
    kwargs = dict(tasks=args.tasks, min_words=args.min_words, false_positive_rate=args.false_positive_rate,
                  bloom_path=args.bloom)
    if args.no_progress:
        report = decontaminate(args.train, args.out, **kwargs)
    else:
        with Progress() as p:
            tid = p.add_task("scanning training files", total=n_files)
            report = decontaminate(args.train, args.out, progress=lambda n: p.advance(tid, n), **kwargs)
    table = Table(title=f"decontamination: {report['documents_dropped']} of {report['documents']} documents dropped")
    for col in ("training source", "documents", "contaminated", "paragraphs matched"):
        table.add_column(col)
    for src, s in sorted(report["per_source"].items()):
        table.add_row(src, str(s["documents"]), str(s["documents_contaminated"]), str(s["paragraphs_matched"]))
    Console().print(table)
    dirty = {t: s for t, s in report["per_task"].items() if s["instances_contaminated"]}
    for t, s in sorted(dirty.items()):
        print(f"{t}: {s['instances_contaminated']} of {s['instances']} instances seen in training data")
    print(f"wrote {args.out / 'report.json'} and {args.out / 'clean_flags.json'}")
    return 0
