"""The original OLMo-core 3.0's dense ``Transformer`` (``TransformerConfig.olmo2_*``, ``llama_like``
with OLMo-1's non-affine LayerNorm and ``default`` blocks) <-> our OLMo model.

Parameter names are ours but for the output side: OLMo-core's final norm lives in the head
(``lm_head.norm.weight``, our ``norm.weight``) and the head matrix is ``lm_head.w_out.weight`` (our
``lm_head.weight``). A tied head is the embedding in both; OLMo-core's state dict lists it under
both names, ours once. OLMo-core's ``vocab_size`` is the padded number of embedding rows (our
``embedding_size``); the tokenizer's size and special ids are not in its model config, so they are
passed in (defaults: the OLMo-1 tokenizer's)."""

from __future__ import annotations

from typing import Any

from olmo_core.convert.olmo import rename
from olmo_core.convert.registry import OlmoCoreConverter, State, register_olmo_core_converter
from olmo_core.model.config import ModelConfig

#: OLMo-core names of its config classes (``_CLASS_`` in its JSON form)
TRANSFORMER_CLASS = "olmo_core.nn.transformer.config.TransformerConfig"
BLOCK_CLASS = "olmo_core.nn.transformer.config.TransformerBlockConfig"
ATTENTION_CLASS = "olmo_core.nn.attention.AttentionConfig"
ROPE_CLASS = "olmo_core.nn.rope.RoPEConfig"
NORM_CLASS = "olmo_core.nn.layer_norm.LayerNormConfig"
FF_CLASS = "olmo_core.nn.feed_forward.FeedForwardConfig"
LM_HEAD_CLASS = "olmo_core.nn.lm_head.LMHeadConfig"

#: our names that differ from OLMo-core's (everything else in a block is spelled the same)
OUTPUT_NAMES = {"norm.weight": "lm_head.norm.weight", "lm_head.weight": "lm_head.w_out.weight"}
BLOCK_NAMES = (
    "attention.w_q.weight", "attention.w_k.weight", "attention.w_v.weight", "attention.w_out.weight",
    "attention.q_norm.weight", "attention.k_norm.weight", "attention_norm.weight", "feed_forward_norm.weight",
)
DENSE_FF_NAMES = ("feed_forward.w1.weight", "feed_forward.w2.weight", "feed_forward.w3.weight")


def peer_model_config(config: dict[str, Any], *, source: str = "config") -> dict[str, Any]:
    """The ``TransformerConfig`` dict inside an OLMo-core config file: the file may hold the model
    config itself or a whole experiment config (``{"model": {...}, "train_module": ...}``)."""
    if isinstance(config.get("model"), dict):
        config = config["model"]
    if "d_model" not in config or "block" not in config:
        raise ValueError(f"{source}: not an OLMo-core TransformerConfig (no 'd_model' and 'block' fields)")
    return config


# -- our config -> theirs -----------------------------------------------------------------------------


def norm_config(cfg: ModelConfig) -> dict[str, Any]:
    if cfg.norm == "rmsnorm":
        out: dict[str, Any] = {"name": "rms", "eps": cfg.norm_eps, "bias": False, "dtype": "float32"}
        if not cfg.norm_affine:
            out["elementwise_affine"] = False
    else:
        out = {"name": "default", "eps": cfg.norm_eps, "bias": False, "elementwise_affine": cfg.norm_affine,
               "dtype": "float32"}
    return {**out, "_CLASS_": NORM_CLASS}


def attention_config(cfg: ModelConfig) -> dict[str, Any]:
    theta = int(cfg.rope_theta) if float(cfg.rope_theta).is_integer() else cfg.rope_theta
    out: dict[str, Any] = {
        "name": "default", "n_heads": cfg.n_heads, "bias": False, "dtype": "float32",
        "rope": {"name": "default", "theta": theta, "full_precision": True, "_CLASS_": ROPE_CLASS},
        "use_head_qk_norm": False, "_CLASS_": ATTENTION_CLASS,
    }
    if cfg.n_kv_heads is not None and cfg.n_kv_heads != cfg.n_heads:
        out["n_kv_heads"] = cfg.n_kv_heads
    if cfg.qk_norm:
        out["qk_norm"] = norm_config(cfg)
    if cfg.clip_qkv is not None:
        out["clip_qkv"] = cfg.clip_qkv
    return out


def transformer_config(cfg: ModelConfig, *, block: dict[str, Any], name: str = "default") -> dict[str, Any]:
    return {
        "name": name, "d_model": cfg.d_model, "vocab_size": cfg.embedding_size, "n_layers": cfg.n_layers,
        "block": {**block, "_CLASS_": BLOCK_CLASS},
        "lm_head": {"name": "default", "layer_norm": norm_config(cfg), "bias": False, "dtype": "float32",
                    "_CLASS_": LM_HEAD_CLASS},
        "dtype": "float32", "init_method": "normal", "init_std": cfg.init_std, "init_seed": 0,
        "tie_word_embeddings": cfg.weight_tying, "_CLASS_": TRANSFORMER_CLASS,
    }


# -- their config -> ours -------------------------------------------------------------------------------


class PeerConfigReader:
    """Reads one OLMo-core TransformerConfig dict, collecting what our model cannot express."""

    def __init__(self, peer: dict[str, Any]) -> None:
        self.peer = peer
        self.block = peer.get("block") or {}
        self.att = self.block.get("sequence_mixer") or self.block.get("attention") or {}

    def unsupported(self, *, transformer_name: str, block_names: tuple[str, ...]) -> str | None:
        p, b, a = self.peer, self.block, self.att
        checks = [
            (p.get("name", "default") != transformer_name, f"name={p.get('name')!r} (needs {transformer_name!r})"),
            (b.get("name", "default") not in block_names, f"block.name={b.get('name')!r} (needs one of {block_names})"),
            (bool(p.get("block_overrides")) or bool(p.get("block_pattern")), "per-block overrides"),
            (p.get("embed_scale") is not None or p.get("embedding_norm") is not None, "embedding scale/norm"),
            (a.get("name", "default") != "default", f"sequence_mixer.name={a.get('name')!r}"),
            (bool(a.get("bias")), "attention bias"),
            (bool(a.get("gate")) or bool(a.get("sliding_window")) or bool(a.get("attention_sinks"))
             or bool(a.get("scalable_softmax")), "gated / sliding-window / sink attention"),
            (bool(a.get("use_head_qk_norm")), "per-head QK-norm"),
            (a.get("head_dim") not in (None, p.get("d_model", 0) // max(int(a.get("n_heads") or 1), 1)),
             "head_dim other than d_model / n_heads"),
            (bool(a.get("rope")) and ((a["rope"].get("name", "default") != "default") or bool(a["rope"].get("scaling"))
                                      or float(a["rope"].get("partial_rotary_factor", 1.0)) != 1.0
                                      or bool(a["rope"].get("no_global_rope"))),
             "RoPE other than plain full-dimension rotate-half"),
            (not a.get("rope"), "no RoPE"),
            ((p.get("lm_head") or {}).get("name", "default") != "default" or bool((p.get("lm_head") or {}).get("bias")),
             "an lm_head other than the default without bias"),
            (b.get("dropout") not in (None, 0.0), "dropout"),
            (b.get("attention_residual_alpha") is not None or b.get("feed_forward_residual_alpha") is not None,
             "residual scaling"),
        ]
        for bad, why in checks:
            if bad:
                return why
        for where, norm in (("block.layer_norm", b.get("layer_norm")), ("lm_head.layer_norm",
                                                                          (p.get("lm_head") or {}).get("layer_norm"))):
            why = self._norm_problem(norm, where)
            if why:
                return why
        if _norm_fields(b.get("layer_norm")) != _norm_fields((p.get("lm_head") or {}).get("layer_norm")):
            return "the final norm differs from the blocks' norms"
        qk = a.get("qk_norm")
        if qk is not None and _norm_fields(qk) != _norm_fields(b.get("layer_norm")):
            return "the QK-norm differs from the blocks' norms"
        return None

    @staticmethod
    def _norm_problem(norm: dict[str, Any] | None, where: str) -> str | None:
        if not norm:
            return f"{where}: missing"
        if norm.get("name", "default") not in ("rms", "default"):
            return f"{where}.name={norm.get('name')!r} (needs 'rms' or 'default')"
        if norm.get("bias"):
            return f"{where}: norm bias"
        return None

    def common(self, ours: dict[str, Any]) -> dict[str, Any]:
        p, b, a = self.peer, self.block, self.att
        norm = b["layer_norm"]
        kind = "rmsnorm" if norm.get("name") == "rms" else "layernorm"
        affine = norm.get("elementwise_affine")
        n_heads = int(a["n_heads"])
        n_kv = a.get("n_kv_heads")
        embedding_size = int(p["vocab_size"])
        out = {
            "d_model": int(p["d_model"]), "n_layers": int(p["n_layers"]), "n_heads": n_heads,
            "n_kv_heads": None if n_kv in (None, n_heads) else int(n_kv),
            "embedding_size": embedding_size,
            "vocab_size": min(int(ours.pop("vocab_size", 50280)), embedding_size),
            "norm": kind, "norm_eps": float(norm.get("eps") or 1e-5), "norm_affine": True if affine is None else bool(affine),
            "qk_norm": a.get("qk_norm") is not None, "rope_theta": float(a["rope"].get("theta", 500_000)),
            "clip_qkv": a.get("clip_qkv"), "weight_tying": bool(p.get("tie_word_embeddings", False)),
            "init": "normal", "init_std": float(p.get("init_std") or 0.02),
        }
        return {**out, **ours}


def _norm_fields(norm: dict[str, Any] | None) -> tuple[Any, ...]:
    norm = norm or {}
    return (norm.get("name", "default"), norm.get("eps"), norm.get("elementwise_affine"))


# -- state dicts --------------------------------------------------------------------------------------


def peer_name_map(cfg: ModelConfig, block_names: tuple[str, ...]) -> dict[str, str]:
    """Every one of our parameter names -> OLMo-core's (a tied head maps the embedding only)."""
    out = {"embeddings.weight": "embeddings.weight"}
    norm_weights = cfg.norm_affine
    for i in range(cfg.n_layers):
        for name in block_names:
            if "norm" in name and not norm_weights:
                continue
            if name.startswith("attention.") and "_norm" in name and not cfg.qk_norm:
                continue
            out[f"blocks.{i}.{name}"] = f"blocks.{i}.{name}"
    if norm_weights:
        out["norm.weight"] = OUTPUT_NAMES["norm.weight"]
    if not cfg.weight_tying:
        out["lm_head.weight"] = OUTPUT_NAMES["lm_head.weight"]
    return out


def to_peer_state(cfg: ModelConfig, state: State, names: dict[str, str]) -> State:
    state = {k: v for k, v in state.items() if not (cfg.weight_tying and k == "lm_head.weight")}
    out = rename(state, names, what="olmo-core state")
    if cfg.weight_tying:  # OLMo-core's state dict names the tied head too
        out[OUTPUT_NAMES["lm_head.weight"]] = out["embeddings.weight"]
    return out


def from_peer_state(cfg: ModelConfig, peer_state: State, names: dict[str, str]) -> State:
    if cfg.weight_tying:
        peer_state = {k: v for k, v in peer_state.items() if k != OUTPUT_NAMES["lm_head.weight"]}
    return rename(peer_state, {v: k for k, v in names.items()}, what="OLMo-core state")


@register_olmo_core_converter("transformer")
class DenseConverter(OlmoCoreConverter):
    """OLMo-1 (pre-norm ``default`` blocks, non-affine LayerNorm) and OLMo-2 (``reordered_norm``
    blocks, RMSNorm, QK-norm) with a SwiGLU feed-forward."""

    def accepts(self, cfg: ModelConfig) -> str | None:
        if cfg.feed_forward.target != "swiglu" or cfg.feed_forward.options:
            return f"feed_forward.target is {cfg.feed_forward.target!r}, not a plain 'swiglu'"
        return None

    def accepts_peer(self, peer: dict[str, Any]) -> str | None:
        reader = PeerConfigReader(peer)
        why = reader.unsupported(transformer_name="default", block_names=("default", "reordered_norm"))
        if why:
            return why
        ff = reader.block.get("feed_forward") or {}
        if reader.block.get("feed_forward_moe"):
            return "an MoE feed-forward"
        if ff.get("name", "default") != "default" or ff.get("activation", "silu") != "silu" or ff.get("bias"):
            return "a feed-forward other than SwiGLU without bias"
        return None

    def peer_config(self, cfg: ModelConfig) -> dict[str, Any]:
        block = {"name": "reordered_norm" if cfg.reordered_norm else "default",
                 "sequence_mixer": attention_config(cfg), "layer_norm": norm_config(cfg),
                 "feed_forward": {"name": "default", "hidden_size": cfg.mlp_hidden_size, "bias": False,
                                  "activation": "silu", "dtype": "float32", "_CLASS_": FF_CLASS}}
        return transformer_config(cfg, block=block)

    def from_peer_config(self, peer: dict[str, Any], **ours: Any) -> ModelConfig:
        why = self.accepts_peer(peer)
        if why:
            raise ValueError(f"OLMo-core config: cannot express {why}")
        reader = PeerConfigReader(peer)
        fields = reader.common(dict(ours))
        return ModelConfig(**fields, mlp_hidden_size=int(reader.block["feed_forward"]["hidden_size"]),
                           reordered_norm=reader.block.get("name") == "reordered_norm").validate()

    def peer_names(self, cfg: ModelConfig) -> dict[str, str]:
        return peer_name_map(cfg, BLOCK_NAMES + DENSE_FF_NAMES)

    def to_peer_state(self, cfg: ModelConfig, state: State) -> State:
        return to_peer_state(cfg, state, self.peer_names(cfg))

    def from_peer_state(self, cfg: ModelConfig, peer_state: State) -> State:
        return from_peer_state(cfg, peer_state, self.peer_names(cfg))
