"""OLMo-1 (``OlmoForCausalLM``) and OLMo-2 (``Olmo2ForCausalLM``) layouts.

Both keep q, k and v as separate matrices (so do we) and name SwiGLU's matrices gate/up/down
(our w1/w3/w2). OLMo-1 has no norm weights at all; OLMo-2 has a weight on each sublayer's output
norm (``post_attention_layernorm``, ``post_feedforward_layernorm``) and on the q/k norms. A tied
head is absent from the HF file (``tie_word_embeddings``)."""

from __future__ import annotations

from typing import Any

from olmo_core.convert.registry import HFConverter, State, register_hf_converter
from olmo_core.model.config import ModelConfig

#: our per-block names -> HF per-layer names, shared by both layouts (and reusable by olmoe)
ATTENTION_NAMES = {
    "attention.w_q.weight": "self_attn.q_proj.weight",
    "attention.w_k.weight": "self_attn.k_proj.weight",
    "attention.w_v.weight": "self_attn.v_proj.weight",
    "attention.w_out.weight": "self_attn.o_proj.weight",
}
SWIGLU_NAMES = {
    "feed_forward.w1.weight": "mlp.gate_proj.weight",
    "feed_forward.w3.weight": "mlp.up_proj.weight",
    "feed_forward.w2.weight": "mlp.down_proj.weight",
}
OLMO2_NORM_NAMES = {
    "attention.q_norm.weight": "self_attn.q_norm.weight",
    "attention.k_norm.weight": "self_attn.k_norm.weight",
    "attention_norm.weight": "post_attention_layernorm.weight",
    "feed_forward_norm.weight": "post_feedforward_layernorm.weight",
}


def name_map(cfg: ModelConfig, block_names: dict[str, str]) -> dict[str, str]:
    """Every olmo-core parameter name -> its HF name."""
    out = {"embeddings.weight": "model.embed_tokens.weight"}
    for i in range(cfg.n_layers):
        for ours, theirs in block_names.items():
            out[f"blocks.{i}.{ours}"] = f"model.layers.{i}.{theirs}"
    if cfg.norm_affine:
        out["norm.weight"] = "model.norm.weight"
    if not cfg.weight_tying:
        out["lm_head.weight"] = "lm_head.weight"
    return out


def rename(state: State, mapping: dict[str, str], *, what: str) -> State:
    missing = [k for k in mapping if k not in state]
    extra = [k for k in state if k not in mapping]
    if missing or extra:
        raise ValueError(f"{what}: weights do not match the expected layout: missing {missing[:6]}, "
                         f"unexpected {extra[:6]}")
    return {mapping[k]: v for k, v in state.items()}


def hf_rope_theta(hf: dict[str, Any]) -> float:
    """Plain RoPE only: a scaled variant (linear, dynamic, yarn, llama3) would change the math."""
    theta = hf.get("rope_theta")
    for key in ("rope_parameters", "rope_scaling"):
        rope = hf.get(key)
        if isinstance(rope, dict):
            kind = rope.get("rope_type", rope.get("type", "default"))
            if kind != "default":
                raise ValueError(f"config.json: {key}.rope_type {kind!r} is not supported (plain RoPE only)")
            theta = rope.get("rope_theta", theta)
    return 10_000.0 if theta is None else float(theta)


def common_hf_config(cfg: ModelConfig, architecture: str) -> dict[str, Any]:
    return {
        "architectures": [architecture],
        "vocab_size": cfg.embedding_size,
        "hidden_size": cfg.d_model,
        "intermediate_size": cfg.mlp_hidden_size,
        "num_hidden_layers": cfg.n_layers,
        "num_attention_heads": cfg.n_heads,
        "num_key_value_heads": cfg.kv_heads,
        "hidden_act": "silu",
        "max_position_embeddings": cfg.max_sequence_length,
        "rope_theta": cfg.rope_theta,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "pad_token_id": cfg.pad_token_id,
        "eos_token_id": cfg.eos_token_id,
        "bos_token_id": None,
        "tie_word_embeddings": cfg.weight_tying,
    }


def common_from_hf(hf: dict[str, Any], vocab_size: int | None) -> dict[str, Any]:
    def need(key: str) -> Any:
        if key not in hf:
            raise ValueError(f"config.json: missing field {key!r}")
        return hf[key]

    embedding_size = int(need("vocab_size"))
    eos = hf.get("eos_token_id")
    if isinstance(eos, list):
        eos = eos[0]
    n_heads = int(need("num_attention_heads"))
    return {
        "d_model": int(need("hidden_size")),
        "n_layers": int(need("num_hidden_layers")),
        "n_heads": n_heads,
        "n_kv_heads": None if int(hf.get("num_key_value_heads") or n_heads) == n_heads
        else int(hf["num_key_value_heads"]),
        "mlp_hidden_size": int(need("intermediate_size")),
        "vocab_size": int(vocab_size) if vocab_size is not None else embedding_size,
        "embedding_size": embedding_size,
        "max_sequence_length": int(hf.get("max_position_embeddings", 2048)),
        "rope_theta": hf_rope_theta(hf),
        "weight_tying": bool(hf.get("tie_word_embeddings", False)),
        "eos_token_id": int(eos) if eos is not None else 0,
        "pad_token_id": int(hf["pad_token_id"]) if hf.get("pad_token_id") is not None else 1,
    }


def _check_common(cfg: ModelConfig) -> str | None:
    if cfg.feed_forward.target != "swiglu":
        return f"feed_forward.target is {cfg.feed_forward.target!r}, not 'swiglu'"
    if cfg.feed_forward.options:
        return "feed_forward.options must be empty"
    return None


@register_hf_converter("olmo")
class OlmoConverter(HFConverter):
    architecture = "OlmoForCausalLM"

    def accepts(self, cfg: ModelConfig) -> str | None:
        if cfg.norm != "layernorm" or cfg.norm_affine:
            return "needs non-affine layernorm"
        if cfg.norm_eps != 1e-5:
            return "HF OLMo fixes the LayerNorm eps at 1e-5"
        if cfg.qk_norm or cfg.reordered_norm:
            return "no QK-norm or reordered norm in OLMo-1"
        return _check_common(cfg)

    def hf_config(self, cfg: ModelConfig) -> dict[str, Any]:
        return {**common_hf_config(cfg, self.architecture), "clip_qkv": cfg.clip_qkv}

    def to_hf_state(self, cfg: ModelConfig, state: State) -> State:
        return rename(state, name_map(cfg, {**ATTENTION_NAMES, **SWIGLU_NAMES}), what="olmo-core state")

    def from_hf_config(self, hf: dict[str, Any], *, vocab_size: int | None = None) -> ModelConfig:
        return ModelConfig(**common_from_hf(hf, vocab_size), norm="layernorm", norm_eps=1e-5, norm_affine=False,
                           qk_norm=False, reordered_norm=False, clip_qkv=hf.get("clip_qkv"), init="mitchell",
                           init_std=float(hf.get("initializer_range", 0.02))).validate()

    def from_hf_state(self, cfg: ModelConfig, hf_state: State) -> State:
        inverse = {v: k for k, v in name_map(cfg, {**ATTENTION_NAMES, **SWIGLU_NAMES}).items()}
        if cfg.weight_tying:
            hf_state = {k: v for k, v in hf_state.items() if k != "lm_head.weight"}
        return rename(hf_state, inverse, what="HF state")


@register_hf_converter("olmo2")
class Olmo2Converter(HFConverter):
    architecture = "Olmo2ForCausalLM"

    def accepts(self, cfg: ModelConfig) -> str | None:
        if cfg.norm != "rmsnorm" or not cfg.norm_affine:
            return "needs RMSNorm with weights"
        if not (cfg.qk_norm and cfg.reordered_norm):
            return "needs QK-norm and reordered norm"
        if cfg.clip_qkv is not None:
            return "HF OLMo-2 has no clip_qkv"
        return _check_common(cfg)

    def hf_config(self, cfg: ModelConfig) -> dict[str, Any]:
        return {**common_hf_config(cfg, self.architecture), "rms_norm_eps": cfg.norm_eps}

    def _names(self) -> dict[str, str]:
        return {**ATTENTION_NAMES, **SWIGLU_NAMES, **OLMO2_NORM_NAMES}

    def to_hf_state(self, cfg: ModelConfig, state: State) -> State:
        return rename(state, name_map(cfg, self._names()), what="olmo-core state")

    def from_hf_config(self, hf: dict[str, Any], *, vocab_size: int | None = None) -> ModelConfig:
        return ModelConfig(**common_from_hf(hf, vocab_size), norm="rmsnorm",
                           norm_eps=float(hf.get("rms_norm_eps", 1e-5)), norm_affine=True, qk_norm=True,
                           reordered_norm=True, clip_qkv=None, init="normal",
                           init_std=float(hf.get("initializer_range", 0.02))).validate()

    def from_hf_state(self, cfg: ModelConfig, hf_state: State) -> State:
        inverse = {v: k for k, v in name_map(cfg, self._names()).items()}
        if cfg.weight_tying:
            hf_state = {k: v for k, v in hf_state.items() if k != "lm_head.weight"}
        return rename(hf_state, inverse, what="HF state")
