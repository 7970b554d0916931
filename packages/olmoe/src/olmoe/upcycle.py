"""Sparse upcycling: a dense olmo-core checkpoint (SwiGLU feed-forwards) into an MoE one, trainable
at once. Attention, norms, embeddings and head are copied; each block's MLP becomes the experts; the
routers are fresh (normal with ``router_std``, so routing starts near uniform).

- ``replicate`` (Komatsuzaki et al., 2023): every expert is a copy of the dense MLP (hidden ``H``).
  With renormalized top-k weights (the default here) the upcycled model computes exactly the dense
  function at step 0, whatever the router says.
- ``slice``: expert ``e`` takes the ``H / E`` consecutive hidden units ``[e H/E, (e+1) H/E)`` of the
  dense MLP (SwiGLU is a sum over hidden units, so the experts add up to the dense MLP). Their down
  projections are multiplied by ``E``: with renormalized weights near ``1/k`` the routed output is
  then an unbiased estimate of the dense MLP under uniform routing."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import torch

from olmoe.config import MoEOptions

Mode = Literal["replicate", "slice"]


def upcycle_state(dense_state: dict[str, torch.Tensor], n_layers: int, *, num_experts: int, mode: Mode,
                  d_model: int, router_std: float, generator: torch.Generator) -> dict[str, torch.Tensor]:
    """olmo-core dense weights -> MoE weights (``feed_forward.w1/w3/w2`` -> router, gate_up, down)."""
    out = {k: v for k, v in dense_state.items() if ".feed_forward." not in k}
    for i in range(n_layers):
        p = f"blocks.{i}.feed_forward."
        try:
            w1, w3, w2 = dense_state[p + "w1.weight"], dense_state[p + "w3.weight"], dense_state[p + "w2.weight"]
        except KeyError as e:
            raise ValueError(f"dense checkpoint: missing {e.args[0]} (is the feed-forward a SwiGLU?)") from None
        hidden = w1.shape[0]
        if mode == "replicate":
            gate = w1.t().unsqueeze(0).expand(num_experts, -1, -1)  # [E, D, H]
            up = w3.t().unsqueeze(0).expand(num_experts, -1, -1)
            down = w2.t().unsqueeze(0).expand(num_experts, -1, -1)  # [E, H, D]
        elif mode == "slice":
            if hidden % num_experts:
                raise ValueError(f"slice upcycling: dense hidden size {hidden} is not divisible by "
                                 f"num_experts={num_experts}")
            h = hidden // num_experts
            gate = w1.t().reshape(d_model, num_experts, h).permute(1, 0, 2)
            up = w3.t().reshape(d_model, num_experts, h).permute(1, 0, 2)
            down = w2.t().reshape(num_experts, h, d_model) * num_experts
        else:
            raise ValueError(f"mode={mode!r}: must be 'replicate' or 'slice'")
        out[p + "gate_up"] = torch.cat([gate, up], dim=-1).contiguous()
        out[p + "down"] = down.contiguous()
        router = torch.empty(num_experts, d_model, dtype=w1.dtype)
        out[p + "router.weight"] = router.normal_(0.0, router_std, generator=generator)
    return out


def upcycle(dense_checkpoint: str | Path, out: str | Path, *, num_experts: int = 8, top_k: int = 2,
            mode: Mode = "replicate", renormalize: bool = True, router_std: float = 0.02, seed: int = 0,
            lb_loss_weight: float = MoEOptions.lb_loss_weight,
            z_loss_weight: float = MoEOptions.z_loss_weight) -> Path:
    """Write the MoE checkpoint at ``out`` (step 0) and return its path."""
    from olmo_core.checkpoint.model_io import (
        load_model_checkpoint,
        load_model_state,
        model_state_for_save,
        save_model_checkpoint,
    )
    from olmo_core.model.transformer import OLMo

    dense = load_model_checkpoint(dense_checkpoint)
    cfg = dense.config
    if cfg.feed_forward.target != "swiglu":
        raise ValueError(f"{dense_checkpoint}: feed_forward.target is {cfg.feed_forward.target!r}; upcycling needs "
                         "a dense 'swiglu' model")
    hidden = int(cfg.feed_forward.options.get("hidden_size", cfg.mlp_hidden_size))
    opts = MoEOptions(num_experts=num_experts, top_k=top_k, renormalize=renormalize, num_layers=cfg.n_layers,
                      hidden_size=hidden if mode == "replicate" else hidden // num_experts,
                      lb_loss_weight=lb_loss_weight, z_loss_weight=z_loss_weight)
    moe_cfg = cfg.replace(feed_forward=opts.feed_forward()).validate()
    state = upcycle_state(model_state_for_save(dense), cfg.n_layers, num_experts=num_experts, mode=mode,
                          d_model=cfg.d_model, router_std=router_std,
                          generator=torch.Generator().manual_seed(seed))
    with torch.device("meta"):
        model = OLMo(moe_cfg)
    load_model_state(model, state, source=f"upcycled {dense_checkpoint}", assign=True)
    return save_model_checkpoint(model, out, step=0, extra_config={"upcycled_from": {
        "checkpoint": str(dense_checkpoint), "mode": mode, "num_experts": num_experts, "top_k": top_k,
        "router_std": router_std, "seed": seed}})
