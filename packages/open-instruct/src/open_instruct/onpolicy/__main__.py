"""``python -m open_instruct.onpolicy``: build (or reuse) on-policy preference pairs for DPO."""

from __future__ import annotations

import argparse
import dataclasses
import sys

from open_instruct.onpolicy.build import OnPolicyConfig, build_preferences

EXAMPLE = """example:
  python -m open_instruct.onpolicy --checkpoint runs/tiny_sft --tasks suite/train.jsonl \\
      --cache runs/onpolicy -k 4 --temperature 1.0 --max-new-tokens 24
  open-instruct dpo --preset tiny_dpo init_from=runs/tiny_sft data.sources=[<printed pairs.jsonl>]"""


def main(argv: list[str] | None = None) -> int:
    d = OnPolicyConfig()
    p = argparse.ArgumentParser(prog="python -m open_instruct.onpolicy", epilog=EXAMPLE,
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                description="Sample k responses per task prompt from a checkpoint, verify them, pair "
                                            "verified against failed responses; cached by content hash.")
    p.add_argument("--checkpoint", required=True, help="an olmo-core checkpoint or a run folder (its latest)")
    p.add_argument("--tasks", required=True, help="task examples (JSONL of open_instruct.tasks)")
    p.add_argument("--cache", required=True, help="cache folder; the pairs go to <cache>/<key>/pairs.jsonl")
    p.add_argument("-k", "--samples-per-prompt", type=int, default=d.samples_per_prompt)
    p.add_argument("--temperature", type=float, default=d.temperature)
    p.add_argument("--top-p", type=float, default=d.top_p)
    p.add_argument("--max-new-tokens", type=int, default=d.max_new_tokens)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--pairs-per-prompt", type=int, default=d.pairs_per_prompt)
    p.add_argument("--gold-when-all-fail", action="store_true")
    p.add_argument("--prompts", type=int, default=None, help="use the first N examples")
    args = p.parse_args(argv)
    cfg = OnPolicyConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(OnPolicyConfig)
                            if hasattr(args, f.name)})
    try:
        result = build_preferences(args.checkpoint, args.tasks, args.cache, cfg)
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(result.pairs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
