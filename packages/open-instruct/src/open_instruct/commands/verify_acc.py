"""``open-instruct verify-acc``: verified accuracy of a checkpoint on task examples, per family."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  open-instruct verify-acc runs/tiny_sft --data runs/tasks/heldout.jsonl
  open-instruct verify-acc runs/grpo/checkpoints/step100 --data heldout.jsonl --limit 200 --out sft_vs.jsonl
  # pairs with another checkpoint's --out rows example by example (McNemar)
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="an olmo-core checkpoint folder, or a run folder (its latest checkpoint)")
    parser.add_argument("--data", required=True, help="a task JSONL (open-instruct tasks' heldout.jsonl)")
    parser.add_argument("--limit", type=int, default=0, help="its first LIMIT examples (default: all)")
    parser.add_argument("--max-new-tokens", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--out", default=None, help="also write per-example rows (id, family, correct, response)")


def run(args: argparse.Namespace) -> int:
    import json

    import torch

    from olmo_core.fileio import write_atomic
    from open_instruct.evaluate_verified import accuracy_by_family, greedy_responses, judge
    from open_instruct.tasks import read_examples
    from open_instruct.tokenizer import load_tokenizer
    from open_instruct.train.common import load_model, resolve_init

    examples = read_examples(args.data)
    examples = examples[:args.limit] if args.limit > 0 else examples
    if not examples:
        raise ValueError(f"--data {args.data}: no examples")
    cfg, ckpt = resolve_init(args.checkpoint)
    if ckpt is None:
        raise ValueError(f"{args.checkpoint}: a model preset, not a checkpoint")
    tokenizer = load_tokenizer()
    model = load_model(cfg, ckpt, torch.device("cpu"))
    responses = greedy_responses(model, tokenizer, examples, max_new_tokens=args.max_new_tokens,
                                 batch_size=args.batch_size)
    correct = judge(examples, responses)
    if args.out:
        write_atomic(args.out, "".join(json.dumps({"id": ex["id"], "family": ex["family"], "correct": int(ok),
                                                   "response": r}) + "\n"
                                       for ex, ok, r in zip(examples, correct, responses)))
    print(json.dumps({"checkpoint": str(ckpt), **accuracy_by_family(examples, correct)}))
    return 0
