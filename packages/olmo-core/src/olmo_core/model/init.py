"""Weight initialization schemes, applied from outside the modules so a model built on the meta
device can be materialized (``to_empty``) and then initialized in place, shard by shard.

- ``"mitchell"`` (OLMo-1): truncated normal at 3 sigma; embeddings, input projections and the output
  head use ``std = 1/sqrt(d_model)``; each block's output projections (attention out, MLP down) use
  ``std = 1/sqrt(2 * fan_in * (layer + 1))``, shrinking with depth.
- ``"normal"`` (OLMo-2): truncated normal at 3 sigma with ``std = init_std`` (0.02) everywhere.

Norm weights start at 1."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from olmo_core.model.norms import LayerNorm, RMSNorm

INIT_SCHEMES: dict[str, Callable[..., None]] = {}


def register_init(name: str) -> Callable[[Callable[..., None]], Callable[..., None]]:
    def deco(fn: Callable[..., None]) -> Callable[..., None]:
        INIT_SCHEMES[name] = fn
        return fn

    return deco


def trunc_normal_(t: torch.Tensor, std: float, generator: torch.Generator | None = None) -> None:
    with torch.no_grad():
        nn.init.trunc_normal_(t, mean=0.0, std=std, a=-3 * std, b=3 * std, generator=generator)


def _init_norms(module: nn.Module | None) -> None:
    if module is None:
        return
    for m in module.modules():
        if isinstance(m, (LayerNorm, RMSNorm)):
            m.reset_parameters()


def _init_feed_forward(ff: nn.Module, std_in: float, std_out: float, generator: torch.Generator | None) -> None:
    if hasattr(ff, "init_weights"):
        ff.init_weights(std_in=std_in, std_out=std_out, generator=generator)
        return
    # A feed-forward without an init of its own gets PyTorch's defaults from whichever of its
    # modules define reset_parameters; parameters no such module owns keep their constructor values
    # (so a layer built on the meta device must define init_weights or reset_parameters).
    if hasattr(ff, "reset_parameters"):
        ff.reset_parameters()
        return
    for m in ff.modules():
        if m is not ff and hasattr(m, "reset_parameters"):
            m.reset_parameters()


def _init_model(model: nn.Module, std_for: Callable[[str, int, int], float], generator: torch.Generator | None) -> None:
    """``std_for(kind, layer, fan_in)`` with kind in emb, in, out, head."""
    cfg = model.config  # type: ignore[attr-defined]
    trunc_normal_(model.embeddings.weight, std_for("emb", 0, cfg.d_model), generator)  # type: ignore[arg-type]
    for i, block in enumerate(model.blocks):  # type: ignore[arg-type]
        att = block.attention
        for w in (att.w_q, att.w_k, att.w_v):
            trunc_normal_(w.weight, std_for("in", i, cfg.d_model), generator)
        trunc_normal_(att.w_out.weight, std_for("out", i, att.w_out.in_features), generator)
        hidden = getattr(block.feed_forward, "hidden_size", cfg.mlp_hidden_size)
        _init_feed_forward(block.feed_forward, std_for("in", i, cfg.d_model), std_for("out", i, hidden), generator)
        _init_norms(block.attention_norm)
        _init_norms(block.feed_forward_norm)
        _init_norms(att.q_norm)
        _init_norms(att.k_norm)
    _init_norms(model.norm)  # type: ignore[arg-type]
    if not cfg.weight_tying:
        trunc_normal_(model.lm_head.weight, std_for("head", 0, cfg.d_model), generator)  # type: ignore[union-attr]


@register_init("mitchell")
def mitchell_init(model: nn.Module, generator: torch.Generator | None = None) -> None:
    def std_for(kind: str, layer: int, fan_in: int) -> float:
        if kind == "out":
            return 1.0 / math.sqrt(2.0 * fan_in * (layer + 1))
        return 1.0 / math.sqrt(fan_in)

    _init_model(model, std_for, generator)


@register_init("normal")
def normal_init(model: nn.Module, generator: torch.Generator | None = None) -> None:
    std = float(model.config.init_std)  # type: ignore[union-attr]
    _init_model(model, lambda kind, layer, fan_in: std, generator)
