"""Benchmark: olmoe's MoE layer against transformers' OLMoE sparse MoE block, forward + backward on
the CPU, with identical weights, at E = 64 experts and top-8 routing.

The peer is ``transformers.models.olmoe.modeling_olmoe.OlmoeSparseMoeBlock`` twice: its default
(``eager``: a Python loop over the experts that were hit) and its grouped implementation
(``experts_implementation="grouped_mm"``, the same ``torch._grouped_mm`` kernels we use). Runs are
interleaved; the figures are the fastest of the repeats (as ``timeit`` advises: slower runs measure
other processes competing for the cores, not the code), with the medians printed beside them.

    uv run python tools/bench/moe_layer.py            # d_model 1024, expert hidden 512, 2048 tokens
    uv run python tools/bench/moe_layer.py --quick    # about a minute
    uv run python tools/bench/moe_layer.py --d-model 2048 --hidden 1024   # OLMoE-1B-7B widths

Ends with ``RESULT moe_layer ratio=R vs_grouped=G ...``: R = transformers default time / ours, G =
transformers grouped time / ours (> 1: we are faster).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable

import torch
from transformers import OlmoeConfig
from transformers.models.olmoe.modeling_olmoe import OlmoeSparseMoeBlock

from olmoe.dispatch import grouped_mm_supported
from olmoe.moe import MoEFeedForward


def build(d_model: int, hidden: int, experts: int, top_k: int, seed: int) -> tuple[MoEFeedForward, OlmoeSparseMoeBlock]:
    cfg = OlmoeConfig(hidden_size=d_model, intermediate_size=hidden, num_experts=experts,
                      num_experts_per_tok=top_k, norm_topk_prob=False)
    torch.manual_seed(seed)
    peer = OlmoeSparseMoeBlock(cfg)
    with torch.no_grad():
        peer.gate.weight.normal_(0, d_model ** -0.5)
        peer.experts.gate_up_proj.normal_(0, d_model ** -0.5)
        peer.experts.down_proj.normal_(0, hidden ** -0.5)
    ours = MoEFeedForward(d_model, num_experts=experts, top_k=top_k, hidden_size=hidden)
    with torch.no_grad():
        ours.router.weight.copy_(peer.gate.weight)
        ours.gate_up.copy_(peer.experts.gate_up_proj.transpose(1, 2))  # [E, 2H, D] -> [E, D, 2H]
        ours.down.copy_(peer.experts.down_proj.transpose(1, 2))  # [E, D, H] -> [E, H, D]
    return ours, peer


def step(module: torch.nn.Module, x: torch.Tensor, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One forward + backward; returns the output and the input's gradient."""
    module.zero_grad(set_to_none=True)
    xi = x.detach().requires_grad_(True)
    y = module(xi)
    y.backward(grad)
    return y.detach(), xi.grad  # type: ignore[return-value]


def timed(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall seconds and process CPU seconds of one call (the CPU figure is less disturbed by other
    processes competing for the cores)."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="smaller widths and fewer repeats (about a minute)")
    p.add_argument("--d-model", type=int, default=None)
    p.add_argument("--hidden", type=int, default=None)
    p.add_argument("--tokens", type=int, default=None)
    p.add_argument("--experts", type=int, default=64)
    p.add_argument("--top-k", type=int, default=8)
    p.add_argument("--repeats", type=int, default=None)
    p.add_argument("--dtype", choices=["float32", "bfloat16"], default="float32")
    p.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    args = p.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    d_model = args.d_model or (512 if args.quick else 1024)
    hidden = args.hidden or (256 if args.quick else 512)
    tokens = args.tokens or (1024 if args.quick else 2048)
    repeats = args.repeats or (3 if args.quick else 5)
    dtype = getattr(torch, args.dtype)

    ours, peer = build(d_model, hidden, args.experts, args.top_k, seed=0)
    ours, peer = ours.to(dtype), peer.to(dtype)
    ours.eval()  # no loss bookkeeping: the peer block computes none either
    g = torch.Generator().manual_seed(1)
    x = torch.randn(1, tokens, d_model, generator=g).to(dtype)
    grad = torch.randn(1, tokens, d_model, generator=g).to(dtype)
    print(f"E={args.experts} k={args.top_k} d_model={d_model} hidden={hidden} tokens={tokens} dtype={args.dtype} "
          f"threads={torch.get_num_threads()} torch={torch.__version__} "
          f"grouped_mm={grouped_mm_supported(x[0], ours.gate_up.detach())}")

    sides: dict[str, Callable[[], tuple[torch.Tensor, torch.Tensor]]] = {}
    sides["olmoe"] = lambda: step(ours, x, grad)

    def peer_with(impl: str) -> Callable[[], tuple[torch.Tensor, torch.Tensor]]:
        def run() -> tuple[torch.Tensor, torch.Tensor]:
            peer.experts.config._experts_implementation = impl
            return step(peer, x, grad)
        return run

    sides["hf_default"] = peer_with("eager")
    sides["hf_grouped"] = peer_with("grouped_mm")

    results = {name: fn() for name, fn in sides.items()}  # warm-up, and the outputs to compare
    ref_y, ref_gx = results["hf_default"]
    for name, (y, gx) in results.items():
        print(f"  {name:11s} max|y - y_hf_default| = {(y.float() - ref_y.float()).abs().max().item():.3e}  "
              f"max|dx - dx_hf_default| = {(gx.float() - ref_gx.float()).abs().max().item():.3e}")

    times: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for r in range(repeats):
        for name, fn in sides.items():
            wall, proc = timed(fn)
            times[name].append(wall)
            cpu[name].append(proc)
        print(f"  repeat {r + 1}/{repeats}: " + "  ".join(f"{n}={t[-1] * 1e3:.0f}ms" for n, t in times.items()),
              flush=True)
    best = {name: min(t) for name, t in times.items()}
    best_cpu = {name: min(t) for name, t in cpu.items()}
    for name, t in best.items():
        print(f"{name:11s} forward+backward best {t * 1e3:9.1f} ms wall, {best_cpu[name] * 1e3:9.1f} ms CPU "
              f"({tokens / t:,.0f} tokens/s); median {statistics.median(times[name]) * 1e3:.1f} ms wall")
    ratio = best["hf_default"] / best["olmoe"]
    vs_grouped = best["hf_grouped"] / best["olmoe"]
    cpu_ratio = best_cpu["hf_default"] / best_cpu["olmoe"]
    cpu_vs_grouped = best_cpu["hf_grouped"] / best_cpu["olmoe"]
    print(f"olmoe is {ratio:.2f}x transformers' default block and {vs_grouped:.2f}x its grouped_mm block "
          f"(CPU time: {cpu_ratio:.2f}x and {cpu_vs_grouped:.2f}x)")
    print(f"RESULT moe_layer ratio={ratio:.3f} vs_grouped={vs_grouped:.3f} cpu_ratio={cpu_ratio:.3f} "
          f"cpu_vs_grouped={cpu_vs_grouped:.3f} ours_ms={best['olmoe'] * 1e3:.1f} "
          f"hf_default_ms={best['hf_default'] * 1e3:.1f} hf_grouped_ms={best['hf_grouped'] * 1e3:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
