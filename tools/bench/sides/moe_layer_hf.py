"""The peer's side of ``tools/bench/moe_layer.py``: transformers' ``OlmoeSparseMoeBlock``, forward +
backward, with the experts implementation named in the config (``eager``, ``grouped_mm`` or
``batched_mm``).

Runs in the peer's pinned environment (transformers + torch only). Loads the same file as our side
(``torch.load(weights_only=True)``) and maps our layout to transformers': ``gate.weight = router``,
``experts.gate_up_proj = gate_up.transpose(1, 2)`` (``[E, D, 2H] -> [E, 2H, D]``, gate rows then up rows
as in our columns), ``experts.down_proj = down.transpose(1, 2)`` (``[E, H, D] -> [E, D, H]``), each made
contiguous, i.e. exactly the layout a transformers OLMoE checkpoint loads into.

A round is ``iters`` forward + backward passes (``zero_grad``, forward, ``backward(dy)``), the same scope
as our side; its output is the same subsample of the output, the input gradient and the weight
gradients (mapped back to our layout) of the last pass.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import OlmoeConfig
from transformers.models.olmoe.modeling_olmoe import OlmoeSparseMoeBlock


def fingerprint(tensors: dict[str, torch.Tensor], samples: int) -> dict[str, list[float]]:
    """The same sampling as ``moe_layer_ours.fingerprint`` (kept in step by hand: this file may import
    only what the peer's environment has)."""
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
    cfg = OlmoeConfig(hidden_size=d, intermediate_size=h2 // 2, num_experts=e,
                      num_experts_per_tok=int(config["top_k"]), norm_topk_prob=False)
    cfg._experts_implementation = config["impl"]
    block = OlmoeSparseMoeBlock(cfg)
    with torch.no_grad():
        block.gate.weight.copy_(data["router"])
        block.experts.gate_up_proj.copy_(data["gate_up"].transpose(1, 2).contiguous())
        block.experts.down_proj.copy_(data["down"].transpose(1, 2).contiguous())
    x, dy = data["x"], data["dy"]
    iters, samples = int(config["iters"]), int(config["samples"])
    print(f"peer: experts_implementation={block.experts.config._experts_implementation} "
          f"threads={torch.get_num_threads()}")

    def round_fn() -> dict[str, Any]:
        for _ in range(iters):
            block.zero_grad(set_to_none=True)
            xi = x.detach().requires_grad_(True)
            y = block(xi)
            y.backward(dy)
        grads = {"y": y, "dx": xi.grad, "d_router": block.gate.weight.grad,
                 "d_gate_up": block.experts.gate_up_proj.grad.transpose(1, 2),
                 "d_down": block.experts.down_proj.grad.transpose(1, 2)}
        return {"units": float(iters * x.numel() // x.shape[-1]), "output": fingerprint(grads, samples)}

    return round_fn
