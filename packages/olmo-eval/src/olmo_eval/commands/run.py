"""``olmo-eval run``: downstream tasks for an olmo-core checkpoint or a HF model folder."""

from __future__ import annotations

import argparse
from pathlib import Path

EPILOG = """examples:
  olmo-eval run --model runs/tiny/checkpoints/step1000 --tasks core9,mmlu --out eval/step1000
  olmo-eval run --model path/to/hf-folder --tasks arc_easy,hellaswag:mc --num-shots 0 --out eval/hf
  olmo-eval run --model ckpt --tasks core9 --limit 50 --device cuda --dtype bfloat16 --out eval/smoke
  olmo-eval run --model ckpt --tasks core9 --clean-flags decon/clean_flags.json --out eval/clean

Writes OUT/metrics.json (every task, MMLU macro average), OUT/results/<task>.json (with a 95%
bootstrap CI), OUT/predictions/<task>.jsonl.gz (per instance) and OUT/requests/<task>.jsonl.gz.
Finished tasks are skipped when the command is run again with the same model (location, contents,
dtype) and task config.
`olmo-eval list` shows the tasks and suites.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, type=Path, help="olmo-core checkpoint folder or HF model folder")
    parser.add_argument("--tasks", default="core9,mmlu", help="comma-separated task and suite names (default: %(default)s)")
    parser.add_argument("--out", required=True, type=Path, help="output folder")
    parser.add_argument("--tokenizer", type=Path, default=None,
                        help="tokenizer.json (default: the model folder's, else olmo-core's OLMo tokenizer)")
    parser.add_argument("--num-shots", type=int, default=None, help="override the tasks' few-shot count (OLMES: 5)")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N instances of each task")
    parser.add_argument("--device", default="cuda" if _cuda() else "cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--token-budget", type=int, default=None, help="padded tokens per forward batch")
    parser.add_argument("--clean-flags", type=Path, default=None,
                        help="clean_flags.json from `olmo-eval decontaminate`: adds clean/<metric> figures")
    parser.add_argument("--no-progress", action="store_true")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def run(args: argparse.Namespace) -> int:
    import torch
    from rich.console import Console

    from olmo_eval.models import load_model, model_identity
    from olmo_eval.runner import results_table
    from olmo_eval.runner import run as run_tasks

    model, tokenizer = load_model(args.model, device=args.device, dtype=getattr(torch, args.dtype),
                                  tokenizer=args.tokenizer)
    metrics = run_tasks(model, tokenizer, args.tasks, args.out, num_shots=args.num_shots, limit=args.limit,
                        token_budget=args.token_budget, model_id=model_identity(args.model, args.dtype),
                        clean_flags=args.clean_flags, show_progress=not args.no_progress)
    Console().print(results_table(metrics))
    print(f"wrote {args.out / 'metrics.json'}")
    return 0
