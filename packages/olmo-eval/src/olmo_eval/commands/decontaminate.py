"""``olmo-eval decontaminate``: export the eval paragraphs for ``dolma-tools decontaminate``, and read
its per-instance flags back."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """examples:
  olmo-eval decontaminate export --tasks core9,mmlu --out decon/eval_documents
  dolma-tools decontaminate --eval-documents decon/eval_documents --documents ../shared/data/corpus --destination decon
  olmo-eval decontaminate flags --tasks core9,mmlu --decontaminated decon --out decon/clean_flags.json
  olmo-eval run --model ckpt --tasks core9,mmlu --clean-flags decon/clean_flags.json --out eval/

`export` writes one Dolma document per eval instance (OUT/<task>.jsonl.gz, id <task>/<instance>,
one paragraph a line). dolma-tools indexes their paragraphs of at least 13 words (a filter cached
by the content of the export), drops the training documents holding one and records which eval
paragraphs it saw. `flags` reads that back: {task: {instance id: clean}} plus counts per task.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    export = sub.add_parser("export", help="eval instances as Dolma documents")
    export.add_argument("--tasks", default="core9,mmlu", help="tasks and suites (default: %(default)s)")
    export.add_argument("--out", required=True, type=Path, help="folder for <task>.jsonl.gz")
    flags = sub.add_parser("flags", help="per-instance clean flags from a dolma-tools decontaminate folder")
    flags.add_argument("--tasks", default="core9,mmlu", help="tasks and suites (default: %(default)s)")
    flags.add_argument("--decontaminated", required=True, type=Path,
                       help="the --destination of dolma-tools decontaminate")
    flags.add_argument("--out", type=Path, default=None, help="clean flags file (default: DECONTAMINATED/clean_flags.json)")


def run(args: argparse.Namespace) -> int:
    from olmo_eval.decontam import export_eval_documents, read_contamination, write_clean_flags

    if args.action == "export":
        counts = export_eval_documents(args.tasks, args.out)
        print(f"wrote {sum(counts.values()):,} eval documents of {len(counts)} tasks to {args.out}")
        return 0
    flags, per_task = read_contamination(args.decontaminated, args.tasks)
    out = args.out or args.decontaminated / "clean_flags.json"
    write_clean_flags(out, flags)
    for task, s in per_task.items():
        if s["instances_contaminated"]:
            print(f"{task}: {s['instances_contaminated']} of {s['instances']} instances seen in training data")
    print(f"wrote {out}")
    return 0
