"""Our side of ``tools/bench/moe_layer.py``: olmoe's ``MoEFeedForward``, forward + backward.

Runs in the workspace's interpreter. Loads the weights, input and output gradient that the benchmark
saved (``torch.load(weights_only=True)``), in our layout as saved: ``router [E, D]``, ``gate_up
[E, D, 2H]``, ``down [E, H, D]``. The layer is in eval mode, so it records no auxiliary losses or routing
statistics (transformers' block computes none either); gradients flow exactly as in training.

A round is ``iters`` forward + backward passes (``zero_grad``, forward, ``backward(dy)``); its output is
a fixed random subsample (same indices on both sides) of the output, the input gradient and the three
weight gradients of the last pass.
"""

from __future__ import annotations

from typing import Any

import torch

from olmoe.dispatch import grouped_mm_supported
from olmoe.moe import MoEFeedForward


def fingerprint(tensors: dict[str, torch.Tensor], samples: int) -> dict[str, list[float]]:
    """``samples`` values of each tensor at indices drawn by a fixed-seed permutation (identical on both
    sides: same torch, same shapes), plus the tensor's sum and sum of absolute values."""
    out: dict[str, list[float]] = {}
    for name, t in tensors.items():
        flat = t.detach().float().reshape(-1)
        idx = torch.randperm(flat.numel(), generator=torch.Generator().manual_seed(0))[:samples]
        out[name] = flat[idx].tolist()
        out[f"{name}.sum"] = [flat.double().sum().item(), flat.double().abs().sum().item()]
    return out


def setup(config: dict[str, Any]):
    torch.set_num_threads(int(config["threads"]))
    data = torch.load(config["data"], weights_only=True)
    e, d, h2 = data["gate_up"].shape
    layer = MoEFeedForward(d, num_experts=e, top_k=int(config["top_k"]), hidden_size=h2 // 2)
    with torch.no_grad():
        layer.router.weight.copy_(data["router"])
        layer.gate_up.copy_(data["gate_up"])
        layer.down.copy_(data["down"])
    layer.eval()
    x, dy = data["x"], data["dy"]
    iters, samples = int(config["iters"]), int(config["samples"])
    print(f"ours: grouped_mm={grouped_mm_supported(x, layer.gate_up.detach())} threads={torch.get_num_threads()}")

    def round_fn() -> dict[str, Any]:
        for _ in range(iters):
            layer.zero_grad(set_to_none=True)
            xi = x.detach().requires_grad_(True)
            y = layer(xi)
            y.backward(dy)
        grads = {"y": y, "dx": xi.grad, "d_router": layer.router.weight.grad, "d_gate_up": layer.gate_up.grad,
                 "d_down": layer.down.grad}
        return {"units": float(iters * x.numel() // x.shape[-1]), "output": fingerprint(grads, samples)}

    return round_fn
