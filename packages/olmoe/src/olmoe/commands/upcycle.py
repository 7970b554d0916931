"""``olmoe upcycle``: a dense olmo-core checkpoint into a mixture-of-experts one."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  # every expert a copy of the dense MLP; the result computes the dense function at step 0
  olmoe upcycle runs/tiny/checkpoints/step1000 out/tiny-moe --experts 8 --top-k 2
  # split the dense MLP's hidden units across 16 experts
  olmoe upcycle runs/tiny/checkpoints/step1000 out/tiny-moe16 --experts 16 --top-k 4 --mode slice
  # then continue training from it, e.g.
  olmoe train --preset tiny trainer.load_path=out/tiny-moe ...
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="dense olmo-core checkpoint folder (SwiGLU feed-forwards)")
    parser.add_argument("out", help="MoE checkpoint folder to write")
    parser.add_argument("--experts", type=int, default=8, help="number of experts (default 8)")
    parser.add_argument("--top-k", type=int, default=2, help="experts per token (default 2)")
    parser.add_argument("--mode", choices=["replicate", "slice"], default="replicate")
    parser.add_argument("--no-renormalize", action="store_true",
                        help="OLMoE-style unnormalized top-k weights (replicate then no longer equals the dense "
                             "model at step 0)")
    parser.add_argument("--router-std", type=float, default=0.02)
    parser.add_argument("--seed", type=int, default=0)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from olmoe.upcycle import upcycle

    out = upcycle(args.checkpoint, args.out, num_experts=args.experts, top_k=args.top_k, mode=args.mode,
                  renormalize=not args.no_renormalize, router_std=args.router_std, seed=args.seed)
    Console(stderr=True).print(f"wrote MoE checkpoint {out} ({args.experts} experts, top-{args.top_k}, {args.mode})")
    return 0
