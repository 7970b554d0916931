"""``dolma-tools tag``: run taggers over documents and write attributes files."""

from __future__ import annotations

import argparse
import json

EPILOG = """examples:
  # Dolma layout: data/documents/... -> data/attributes/<set>/...
  dolma-tools tag --documents 'data/documents/*.jsonl.gz' --taggers gopher_v1 c4_v1 --experiment quality
  # any folder, attributes under a root of your choice, 2 processes
  dolma-tools tag --documents ../shared/data/corpus --attributes-root out/attributes \\
      --taggers ft_lang_id_en_doc_v2 pii_regex_v1 --experiment dolma_v1 --processes 2
  # a tagger with options, on Ray
  dolma-tools tag --documents ../shared/data/corpus/code --attributes-root out/attributes \\
      --taggers fasttext_classifier:model_path=quality.bin,level=sentence --executor ray
  dolma-tools list        # every tagger and what it computes
"""


def add_executor_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=("local", "ray"), default="local",
                        help="local process pool (default) or Ray (a local instance unless --ray-address)")
    parser.add_argument("--processes", type=int, default=None, help="worker processes (default: every core)")
    parser.add_argument("--ray-address", default=None, help="Ray cluster address (default: $RAY_ADDRESS or local)")
    parser.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                        help="bad input: stop naming file and line (default), or skip and count it")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--documents", nargs="+", required=True, help="files, folders or globs of documents")
    parser.add_argument("--taggers", nargs="+", required=True, help="tagger names, optionally name:key=value,...")
    parser.add_argument("--experiment", default=None,
                        help="tagger set name (attributes <set>__<tagger>__<attr>); default: one set per tagger")
    parser.add_argument("--attributes-root", default=None,
                        help="write attributes to ROOT/<set>/<relative path> (default: Dolma layout beside documents/)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_executor_arguments(parser)


def run(args: argparse.Namespace) -> int:
    from dolma_tools.docio import ErrorLog
    from dolma_tools.mixer.report import print_errors, print_run
    from dolma_tools.taggers.run import tag

    summary = tag(args.documents, args.taggers, experiment=args.experiment, attributes_root=args.attributes_root,
                  executor=args.executor, processes=args.processes, on_error=args.on_error,
                  progress=not args.no_progress, ray_address=args.ray_address)
    errors = ErrorLog()
    seconds: dict[str, float] = {}
    for st in summary.stats.values():
        errors.merge(st.get("errors", {}))
        for k, v in st.get("tagger_seconds", {}).items():
            seconds[k] = seconds.get(k, 0.0) + v
    if args.json:
        print(json.dumps({**summary.to_json(), "errors": errors.to_json(), "tagger_seconds": seconds}, indent=2))
    else:
        print_run(summary)
        if seconds:
            print("time per tagger (all workers): " + ", ".join(f"{k}={v:.1f}s" for k, v in seconds.items()))
        print_errors(errors.to_json())
    return 0 if summary.ok else 1
