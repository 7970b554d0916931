"""HF transformers conversion of MoE models (``OlmoeForCausalLM``, ``model_type="olmoe"``), registered
in olmo-core's converter registry, which loads olmoe's plug-in entry point when it meets a model no
built-in converter accepts (or ``model_type="olmoe"``), so ``olmo_core.convert.to_hf`` / ``from_hf``
handle MoE checkpoints wherever olmoe is installed.

Weights: our ``gate_up [E, D, 2H]`` / ``down [E, H, D]`` are the transposes of HF's fused
``mlp.experts.gate_up_proj [E, 2H, D]`` / ``mlp.experts.down_proj [E, D, H]`` (gate rows first in
both). Reading also accepts the per-expert layout of the released hub files
(``mlp.experts.<e>.{gate,up,down}_proj.weight``). OLMoE is pre-norm: ``input_layernorm`` is our
``attention_norm`` and ``post_attention_layernorm`` our ``feed_forward_norm``."""

from __future__ import annotations

import re
from typing import Any

import torch

from olmo_core.convert.olmo import ATTENTION_NAMES, common_from_hf, common_hf_config, name_map, rename
from olmo_core.convert.registry import HFConverter, State, register_hf_converter
from olmo_core.model.config import ModelConfig
from olmoe.config import MOE_TARGET, MoEOptions

BLOCK_NAMES = {
    **ATTENTION_NAMES,
    "attention.q_norm.weight": "self_attn.q_norm.weight",
    "attention.k_norm.weight": "self_attn.k_norm.weight",
    "attention_norm.weight": "input_layernorm.weight",
    "feed_forward_norm.weight": "post_attention_layernorm.weight",
    "feed_forward.router.weight": "mlp.gate.weight",
}
#: ours -> HF, each a transpose of the last two dimensions
FUSED_EXPERT_NAMES = {
    "feed_forward.gate_up": "mlp.experts.gate_up_proj",
    "feed_forward.down": "mlp.experts.down_proj",
}
_PER_EXPERT = re.compile(r"^model\.layers\.(\d+)\.mlp\.experts\.(\d+)\.(gate_proj|up_proj|down_proj)\.weight$")


def _fuse_per_expert(hf_state: State, cfg: ModelConfig) -> State:
    """Hub-format per-expert matrices -> HF's fused 3-D tensors (other keys unchanged)."""
    per: dict[tuple[int, str], dict[int, torch.Tensor]] = {}
    rest: State = {}
    for key, value in hf_state.items():
        m = _PER_EXPERT.match(key)
        if m:
            per.setdefault((int(m.group(1)), m.group(3)), {})[int(m.group(2))] = value
        else:
            rest[key] = value
    if not per:
        return hf_state
    n_exp = int(cfg.feed_forward.options["num_experts"])
    for layer in range(cfg.n_layers):
        mats = {}
        for proj in ("gate_proj", "up_proj", "down_proj"):
            got = per.pop((layer, proj), {})
            if sorted(got) != list(range(n_exp)):
                raise ValueError(f"HF state: layer {layer} {proj} has experts {sorted(got)[:8]}..., "
                                 f"expected 0..{n_exp - 1}")
            mats[proj] = torch.stack([got[e] for e in range(n_exp)])
        prefix = f"model.layers.{layer}.mlp.experts."
        rest[prefix + "gate_up_proj"] = torch.cat([mats["gate_proj"], mats["up_proj"]], dim=1)
        rest[prefix + "down_proj"] = mats["down_proj"]
    if per:
        raise ValueError(f"HF state: expert weights for layers beyond n_layers={cfg.n_layers}: {sorted(per)[:4]}")
    return rest


@register_hf_converter("olmoe")
class OlmoeConverter(HFConverter):
    architecture = "OlmoeForCausalLM"

    def accepts(self, cfg: ModelConfig) -> str | None:
        if cfg.feed_forward.target != MOE_TARGET:
            return f"feed_forward.target is {cfg.feed_forward.target!r}, not {MOE_TARGET!r}"
        if cfg.norm != "rmsnorm" or not cfg.norm_affine:
            return "needs RMSNorm with weights"
        if not cfg.qk_norm or cfg.reordered_norm:
            return "needs QK-norm and pre-norm blocks (reordered_norm=False)"
        opts = MoEOptions.from_options(cfg.feed_forward.options)
        if opts.shared_expert_hidden_size:
            return "HF OLMoE has no shared expert"
        if opts.capacity_factor is not None:
            return "HF OLMoE is dropless (capacity_factor must be null)"
        return None

    def hf_config(self, cfg: ModelConfig) -> dict[str, Any]:
        opts = MoEOptions.from_options(cfg.feed_forward.options)
        return {**common_hf_config(cfg, self.architecture), "intermediate_size": opts.hidden_size,
                "rms_norm_eps": cfg.norm_eps, "clip_qkv": cfg.clip_qkv, "num_experts": opts.num_experts,
                "num_experts_per_tok": opts.top_k, "norm_topk_prob": opts.renormalize,
                "router_aux_loss_coef": opts.lb_loss_weight, "output_router_logits": False}

    def to_hf_state(self, cfg: ModelConfig, state: State) -> State:
        state = dict(state)
        fused: State = {}
        for i in range(cfg.n_layers):
            for ours, theirs in FUSED_EXPERT_NAMES.items():
                fused[f"model.layers.{i}.{theirs}"] = state.pop(f"blocks.{i}.{ours}").transpose(1, 2).contiguous()
        return {**rename(state, name_map(cfg, BLOCK_NAMES), what="olmo-core state"), **fused}

    def from_hf_config(self, hf: dict[str, Any], *, vocab_size: int | None = None) -> ModelConfig:
        common = common_from_hf(hf, vocab_size)
        d = MoEOptions()  # a field HF leaves out takes our default (OLMoE-1B-7B's, as HF's are)
        opts = MoEOptions(num_experts=int(hf.get("num_experts", d.num_experts)),
                          top_k=int(hf.get("num_experts_per_tok", d.top_k)), hidden_size=common["mlp_hidden_size"],
                          renormalize=bool(hf.get("norm_topk_prob", d.renormalize)),
                          lb_loss_weight=float(hf.get("router_aux_loss_coef", d.lb_loss_weight)),
                          num_layers=common["n_layers"])
        return ModelConfig(**common, norm="rmsnorm", norm_eps=float(hf.get("rms_norm_eps", 1e-5)),
                           norm_affine=True, qk_norm=True, reordered_norm=False, clip_qkv=hf.get("clip_qkv"),
                           init="normal", init_std=float(hf.get("initializer_range", 0.02)),
                           feed_forward=opts.feed_forward()).validate()

    def from_hf_state(self, cfg: ModelConfig, hf_state: State) -> State:
        hf_state = _fuse_per_expert(dict(hf_state), cfg)
        if cfg.weight_tying:
            hf_state.pop("lm_head.weight", None)
        ours: State = {}
        for i in range(cfg.n_layers):
            for mine, theirs in FUSED_EXPERT_NAMES.items():
                key = f"model.layers.{i}.{theirs}"
                if key not in hf_state:
                    raise ValueError(f"HF state: missing {key}")
                ours[f"blocks.{i}.{mine}"] = hf_state.pop(key).transpose(1, 2).contiguous()
        inverse = {v: k for k, v in name_map(cfg, BLOCK_NAMES).items()}
        return {**rename(hf_state, inverse, what="HF state"), **ours}
