"""``olmo-eval generate``: the generation suite (gen6) on an olmo-core checkpoint or HF folder, with
the sampling and sandbox options of generation tasks; the same runner as ``olmo-eval run``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

EPILOG = """examples:
  # every generation task, 20 instances each, 64 new tokens at most, into runs/gen
  olmo-eval generate --model runs/tiny/checkpoints/step1000 --tasks gen6 --limit 20 \\
      --max-new-tokens 64 --out runs/gen
  # an adapted model with the Tulu chat template; resume an interrupted run by rerunning it
  olmo-eval generate --model runs/sft/hf --tasks gsm8k,codex_humaneval --prompt-style chat --out runs/gen-sft
  # pass@1 and pass@5 from 5 samples per problem
  olmo-eval generate --model hf_dir --tasks codex_humaneval --num-samples 5 --temperature 0.8 \\
      --pass-at-k 1 5 --out runs/humaneval
  # code tasks run model-written programs only inside bubblewrap (apt install bubblewrap); without
  # it the command refuses. Opting out (no isolation at all; loudly logged):
  olmo-eval generate --model hf_dir --tasks codex_mbpp --unsafe-no-sandbox --out runs/mbpp
tasks: gsm8k, minerva_math_500, codex_humaneval, codex_mbpp, naturalqs_open, lambada (gen6 = all)

Writes OUT/generation/<task>/instances.jsonl (per instance; a rerun resumes from it) and metrics.json,
OUT/requests/<task>.jsonl.gz, OUT/results/<task>.json and OUT/metrics.json, as `olmo-eval run` does.
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", required=True, help="olmo-core checkpoint folder or HF model folder")
    parser.add_argument("--tasks", default="gen6", help="comma-separated task names or gen6 (default)")
    parser.add_argument("--out", required=True, help="output folder (per-instance records, metrics)")
    parser.add_argument("--tokenizer", default=None, help="tokenizer.json (default: the model's)")
    parser.add_argument("--prompt-style", choices=["auto", "base", "chat"], default="auto",
                        help="base: shipped few-shot prompts; chat: Tulu template; auto: chat for adapted models")
    parser.add_argument("--limit", type=int, default=None, help="first N instances of each task")
    parser.add_argument("--max-new-tokens", type=int, default=None, help="cap on new tokens (default: as shipped)")
    parser.add_argument("--num-samples", type=int, default=1, help="samples per instance (pass@k)")
    parser.add_argument("--temperature", type=float, default=0.0, help="0 is greedy")
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--pass-at-k", type=int, nargs="+", default=[1], help="k values for code tasks")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--no-bpb", action="store_true", help="skip bits per byte of the gold answers")
    parser.add_argument("--sandbox-timeout", type=float, default=10.0, help="wall-clock seconds per program")
    parser.add_argument("--sandbox-memory-mb", type=int, default=2048,
                        help="memory of each program's whole sandbox, all its processes together")
    parser.add_argument("--sandbox-cgroup", default="auto",
                        help="auto: a delegated cgroup v2 if there is one (else resource limits); off; or a cgroup v2 dir")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run model-written code WITHOUT isolation (resource limits only): never the default")


def run(args: argparse.Namespace) -> int:
    from olmo_eval.sandbox import SandboxConfig, SandboxError, check_sandbox
    from olmo_eval.tasks import expand, get_task
    from olmo_eval.tasks.generation import CodeTask

    sandbox = SandboxConfig(wall_seconds=args.sandbox_timeout, cpu_seconds=max(1, int(args.sandbox_timeout)),
                            memory_bytes=args.sandbox_memory_mb << 20, cgroup=args.sandbox_cgroup,
                            unsafe_no_sandbox=args.unsafe_no_sandbox)
    if any(isinstance(get_task(name), CodeTask) for name in expand(args.tasks)):
        # before loading the model: without isolation the command refuses, and says how to get it
        try:
            check_sandbox(sandbox)
        except SandboxError as exc:
            print(f"olmo-eval generate: error: {exc}", file=sys.stderr)
            return 2
    import torch
    from rich.console import Console

    from olmo_eval.models import default_prompt_style, load_model, model_identity
    from olmo_eval.runner import generation_table
    from olmo_eval.runner import run as run_tasks

    model, tokenizer = load_model(args.model, device=args.device, dtype=getattr(torch, args.dtype),
                                  tokenizer=args.tokenizer)
    style = default_prompt_style(args.model) if args.prompt_style == "auto" else args.prompt_style
    overrides = {"max_new_tokens": args.max_new_tokens, "num_samples": args.num_samples,
                 "temperature": args.temperature, "top_p": args.top_p, "seed": args.seed,
                 "pass_at_ks": tuple(args.pass_at_k)}
    metrics = run_tasks(model, tokenizer, args.tasks, Path(args.out), limit=args.limit, overrides=overrides,
                        model_id=model_identity(args.model, args.dtype), prompt_style=style, batch_size=args.batch_size,
                        compute_bpb=not args.no_bpb, sandbox_config=sandbox)
    Console(stderr=True).print(generation_table(metrics))
    print(json.dumps({name: e["primary"] for name, e in metrics["tasks"].items()}))
    return 0
