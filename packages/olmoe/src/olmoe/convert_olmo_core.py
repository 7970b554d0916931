"""The original OLMo-core 3.0's MoE transformer (``TransformerConfig.olmoe_1B_7B``: ``name="moe"``,
``moe_reordered_norm`` or ``moe`` blocks, a dropless MoE) <-> our models with olmoe's layer,
registered in olmo-core's OLMo-core converter registry as ``olmoe`` (olmo-core loads this module
through olmoe's plug-in entry point when no built-in converter accepts a config).

Weights per block (E experts of hidden H, width D): OLMo-core's router is one flat ``[E*D]`` vector
(ours: ``router.weight [E, D]``); its experts are ``experts.mlp.w1 / w3 / w2``, each ``[E*H, D]``,
used as ``x @ w1[e].T`` (gate), ``x @ w3[e].T`` (up) and ``h @ w2[e]`` (down) once viewed as
``[E, H, D]``; ours are ``gate_up [E, D, 2H]`` (gate columns first) and ``down [E, H, D]``. So
``gate_up = cat(w1ᵀ, w3ᵀ)``, ``down = w2`` (a view). Everything else is the dense layout's
(:mod:`olmo_core.convert.olmo_core_layout`).

Routing is the same computation: softmax over all experts, the k largest probabilities as weights,
renormalized only when OLMo-core's ``normalize_expert_weights`` is 1 (L1). OLMo-core's shared MLP
(mixed in as ``shared/(k+1) + experts·k/(k+1)``), capacity-limited MoE, expert-bias balancing and
latent MoE have no counterpart here and are refused by name."""

from __future__ import annotations

from typing import Any

import torch

from olmo_core.convert.olmo_core_layout import (
    BLOCK_NAMES,
    PeerConfigReader,
    attention_config,
    from_peer_state,
    norm_config,
    peer_name_map,
    to_peer_state,
    transformer_config,
)
from olmo_core.convert.registry import OlmoCoreConverter, State, register_olmo_core_converter
from olmo_core.model.config import ModelConfig
from olmoe.config import MOE_TARGET, MoEOptions

MOE_CLASS = "olmo_core.nn.moe.moe.MoEConfig"
ROUTER_CLASS = "olmo_core.nn.moe.router.MoERouterConfig"
OURS, THEIRS = "feed_forward.", "feed_forward_moe."


@register_olmo_core_converter("olmoe")
class OlmoCoreMoEConverter(OlmoCoreConverter):
    def accepts(self, cfg: ModelConfig) -> str | None:
        if cfg.feed_forward.target != MOE_TARGET:
            return f"feed_forward.target is {cfg.feed_forward.target!r}, not {MOE_TARGET!r}"
        opts = MoEOptions.from_options(cfg.feed_forward.options)
        if opts.shared_expert_hidden_size:
            return "OLMo-core mixes a shared MLP in differently (shared/(k+1)); no shared expert"
        if opts.capacity_factor is not None:
            return "capacity_factor must be null (OLMo-core's dropless MoE)"
        if opts.aux_loss_scope != "micro_batch":
            return "aux_loss_scope must be 'micro_batch' (OLMo-core's local_batch)"
        return None

    def accepts_peer(self, peer: dict[str, Any]) -> str | None:
        reader = PeerConfigReader(peer)
        why = reader.unsupported(transformer_name="moe", block_names=("moe", "moe_reordered_norm"))
        if why:
            return why
        moe = reader.block.get("feed_forward_moe") or {}
        router = moe.get("router") or {}
        checks = [
            (not moe, "no feed_forward_moe"),
            (moe.get("name", "default") != "dropless", f"feed_forward_moe.name={moe.get('name')!r} (needs 'dropless')"),
            (bool(moe.get("shared_mlp")), "a shared MLP"),
            (moe.get("capacity_factor") is not None, "a capacity factor"),
            (bool(moe.get("latent_moe")), "latent MoE"),
            (moe.get("lb_loss_granularity", "local_batch") != "local_batch",
             f"lb_loss_granularity={moe.get('lb_loss_granularity')!r}"),
            (router.get("name", "default") != "default" or router.get("gating_function", "softmax") != "softmax",
             "a router other than softmax top-k"),
            (router.get("bias_gamma") is not None or router.get("jitter_eps") is not None
             or router.get("uniform_expert_assignment") or router.get("random_expert_assignment"),
             "router bias / jitter / forced assignment"),
            (router.get("normalize_expert_weights") not in (None, 1, 1.0), "expert weights normalized other than L1"),
        ]
        for bad, why in checks:
            if bad:
                return why
        return None

    def peer_config(self, cfg: ModelConfig) -> dict[str, Any]:
        opts = MoEOptions.from_options(cfg.feed_forward.options)
        router: dict[str, Any] = {"name": "default", "top_k": opts.top_k, "gating_function": "softmax",
                                  "_CLASS_": ROUTER_CLASS}
        if opts.renormalize:
            router["normalize_expert_weights"] = 1.0
        moe = {"name": "dropless", "num_experts": opts.num_experts, "hidden_size": opts.hidden_size,
               "router": router, "lb_loss_weight": opts.lb_loss_weight, "lb_loss_granularity": "local_batch",
               "z_loss_weight": opts.z_loss_weight, "scale_loss_by_num_layers": opts.num_layers > 1,
               "dtype": "float32", "_CLASS_": MOE_CLASS}
        block = {"name": "moe_reordered_norm" if cfg.reordered_norm else "moe", "sequence_mixer": attention_config(cfg),
                 "layer_norm": norm_config(cfg), "feed_forward_moe": moe}
        return transformer_config(cfg, block=block, name="moe")

    def from_peer_config(self, peer: dict[str, Any], **ours: Any) -> ModelConfig:
        why = self.accepts_peer(peer)
        if why:
            raise ValueError(f"OLMo-core config: cannot express {why}")
        reader = PeerConfigReader(peer)
        fields = reader.common(dict(ours))
        moe = reader.block["feed_forward_moe"]
        router = moe.get("router") or {}
        opts = MoEOptions(num_experts=int(moe["num_experts"]), top_k=int(router.get("top_k", 1)),
                          hidden_size=int(moe["hidden_size"]),
                          renormalize=router.get("normalize_expert_weights") is not None,
                          lb_loss_weight=float(moe.get("lb_loss_weight") or 0.0),
                          z_loss_weight=float(moe.get("z_loss_weight") or 0.0),
                          num_layers=fields["n_layers"] if moe.get("scale_loss_by_num_layers", True) else 1)
        return ModelConfig(**fields, mlp_hidden_size=opts.hidden_size, feed_forward=opts.feed_forward(),
                           reordered_norm=reader.block.get("name") == "moe_reordered_norm").validate()

    def peer_names(self, cfg: ModelConfig) -> dict[str, str]:
        names = peer_name_map(cfg, BLOCK_NAMES)
        for i in range(cfg.n_layers):
            names[f"blocks.{i}.{OURS}router.weight"] = f"blocks.{i}.{THEIRS}router.weight"
        return names

    def to_peer_state(self, cfg: ModelConfig, state: State) -> State:
        opts = MoEOptions.from_options(cfg.feed_forward.options)
        e, h, d = opts.num_experts, opts.hidden_size, cfg.d_model
        state, out = dict(state), {}
        for i in range(cfg.n_layers):
            mine, theirs = f"blocks.{i}.{OURS}", f"blocks.{i}.{THEIRS}"
            out[theirs + "router.weight"] = _pop(state, mine + "router.weight", (e, d)).reshape(e * d)
            gate_up = _pop(state, mine + "gate_up", (e, d, 2 * h))
            out[theirs + "experts.mlp.w1"] = gate_up[..., :h].transpose(1, 2).reshape(e * h, d).contiguous()
            out[theirs + "experts.mlp.w3"] = gate_up[..., h:].transpose(1, 2).reshape(e * h, d).contiguous()
            out[theirs + "experts.mlp.w2"] = _pop(state, mine + "down", (e, h, d)).reshape(e * h, d).contiguous()
        return {**to_peer_state(cfg, state, peer_name_map(cfg, BLOCK_NAMES)), **out}

    def from_peer_state(self, cfg: ModelConfig, peer_state: State) -> State:
        opts = MoEOptions.from_options(cfg.feed_forward.options)
        e, h, d = opts.num_experts, opts.hidden_size, cfg.d_model
        state, out = dict(peer_state), {}
        for i in range(cfg.n_layers):
            mine, theirs = f"blocks.{i}.{OURS}", f"blocks.{i}.{THEIRS}"
            out[mine + "router.weight"] = _pop(state, theirs + "router.weight", (e * d,)).reshape(e, d).contiguous()
            w1 = _pop(state, theirs + "experts.mlp.w1", (e * h, d)).reshape(e, h, d)
            w3 = _pop(state, theirs + "experts.mlp.w3", (e * h, d)).reshape(e, h, d)
            out[mine + "gate_up"] = torch.cat([w1.transpose(1, 2), w3.transpose(1, 2)], dim=2).contiguous()
            out[mine + "down"] = _pop(state, theirs + "experts.mlp.w2", (e * h, d)).reshape(e, h, d).contiguous()
        return {**from_peer_state(cfg, state, peer_name_map(cfg, BLOCK_NAMES)), **out}


def _pop(state: State, key: str, shape: tuple[int, ...]) -> torch.Tensor:
    if key not in state:
        raise ValueError(f"MoE state: missing {key}")
    t = state.pop(key)
    if tuple(t.shape) != shape:
        raise ValueError(f"MoE state: {key} has shape {tuple(t.shape)}, expected {shape}")
    return t
