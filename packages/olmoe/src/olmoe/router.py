"""Top-k token-choice routing: a bias-free linear router, softmax over all experts in float32, the k
largest probabilities as weights (renormalized to sum to 1 only if asked; OLMoE does not)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Routing:
    logits: torch.Tensor  #: [N, E] float32 router logits
    probs: torch.Tensor  #: [N, E] float32 softmax over all experts
    weights: torch.Tensor  #: [N, k] float32 weights of the chosen experts
    indices: torch.Tensor  #: [N, k] int64 chosen experts, most probable first


def route(x: torch.Tensor, router_weight: torch.Tensor, top_k: int, *, renormalize: bool = False) -> Routing:
    """``x [N, D]``, ``router_weight [E, D]``. The router matmul runs in float32 whatever the model's
    dtype: it is tiny, and the z-loss and the choice of experts are sensitive to its rounding."""
    with torch.autocast(device_type=x.device.type, enabled=False):  # autocast would turn it back to bf16
        logits = x.float() @ router_weight.float().t()
    probs = torch.softmax(logits, dim=-1)
    weights, indices = torch.topk(probs, top_k, dim=-1)
    if renormalize:
        weights = weights / weights.sum(dim=-1, keepdim=True)
    return Routing(logits=logits, probs=probs, weights=weights, indices=indices)
