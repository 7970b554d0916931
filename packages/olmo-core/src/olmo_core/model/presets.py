"""Model presets named after the published models, plus ``tiny``/``small`` sizes that train on a CPU.

Each preset is a function returning a fresh :class:`ModelConfig`, registered in
:data:`MODEL_PRESETS` by decorator and stored in hydra's ConfigStore as ``model/<name>``.

Published sizes these reproduce (tests check them): OLMo-1B 1,176,764,416 parameters, OLMo-7B
6,888,095,744, OLMo-2-0425-1B 1,484,916,736, OLMo-2-1124-7B 7,298,617,344."""

from __future__ import annotations

from collections.abc import Callable

from olmo_core.model.config import ModelConfig

MODEL_PRESETS: dict[str, Callable[[], ModelConfig]] = {}


def register_model_preset(name: str) -> Callable[[Callable[[], ModelConfig]], Callable[[], ModelConfig]]:
    def deco(fn: Callable[[], ModelConfig]) -> Callable[[], ModelConfig]:
        if name in MODEL_PRESETS:
            raise ValueError(f"model preset {name!r} is already registered")
        MODEL_PRESETS[name] = fn
        return fn

    return deco


def get_model_preset(name: str) -> ModelConfig:
    from olmo_core.plugins import lookup

    try:
        preset = lookup(MODEL_PRESETS, name)  # a miss loads the plug-ins' presets (olmoe_tiny) first
    except KeyError:
        raise KeyError(f"unknown model preset {name!r}; known: {sorted(MODEL_PRESETS)}") from None
    return preset().validate()


def _olmo1(**kw: object) -> ModelConfig:
    """OLMo-1 layout: non-affine LayerNorm, pre-norm, SwiGLU, rotary theta 10k, GPT-NeoX vocabulary."""
    return ModelConfig(norm="layernorm", norm_eps=1e-5, norm_affine=False, qk_norm=False, reordered_norm=False,
                       rope_theta=10_000.0, vocab_size=50280, embedding_size=50304, eos_token_id=50279,
                       pad_token_id=1, init="mitchell", **kw)  # type: ignore[arg-type]


def _olmo2(**kw: object) -> ModelConfig:
    """OLMo-2 layout: RMSNorm with weights after each sublayer, QK-norm, theta 500k, the dolma2
    (cl100k-based) vocabulary of 100,278 tokens padded to 100,352."""
    return ModelConfig(norm="rmsnorm", norm_eps=1e-6, norm_affine=True, qk_norm=True, reordered_norm=True,
                       rope_theta=500_000.0, vocab_size=100278, embedding_size=100352, eos_token_id=100257,
                       pad_token_id=100277, max_sequence_length=4096, weight_tying=False, init="normal",
                       init_std=0.02, **kw)  # type: ignore[arg-type]


@register_model_preset("tiny")
def tiny() -> ModelConfig:
    """About 0.4M block parameters (6.4M with the embedding): seconds per step on a CPU."""
    return _olmo1(d_model=128, n_layers=2, n_heads=4, mlp_hidden_size=384, weight_tying=True,
                  max_sequence_length=2048)


@register_model_preset("tiny_olmo2")
def tiny_olmo2() -> ModelConfig:
    """The OLMo-2 layout at the ``tiny`` size, over the OLMo-1 tokenizer (so it runs on the shipped one)."""
    cfg = _olmo2(d_model=128, n_layers=2, n_heads=4, mlp_hidden_size=384)
    return cfg.replace(vocab_size=50280, embedding_size=50304, eos_token_id=50279, pad_token_id=1,
                       max_sequence_length=2048)


@register_model_preset("small")
def small() -> ModelConfig:
    """About 5.1M block parameters (18.0M with the embedding): trains on a CPU in minutes."""
    return _olmo1(d_model=256, n_layers=6, n_heads=8, mlp_hidden_size=768, weight_tying=True,
                  max_sequence_length=2048)


@register_model_preset("olmo_1b")
def olmo_1b() -> ModelConfig:
    """allenai/OLMo-1B: 16 layers, d 2048, 16 heads, SwiGLU hidden 8192, tied embeddings."""
    return _olmo1(d_model=2048, n_layers=16, n_heads=16, mlp_hidden_size=8192, weight_tying=True,
                  max_sequence_length=2048)


@register_model_preset("olmo_7b")
def olmo_7b() -> ModelConfig:
    """allenai/OLMo-7B: 32 layers, d 4096, 32 heads, SwiGLU hidden 11008, untied head."""
    return _olmo1(d_model=4096, n_layers=32, n_heads=32, mlp_hidden_size=11008, weight_tying=False,
                  max_sequence_length=2048)


@register_model_preset("olmo2_1b")
def olmo2_1b() -> ModelConfig:
    """allenai/OLMo-2-0425-1B: 16 layers, d 2048, 16 heads, hidden 8192, untied head."""
    return _olmo2(d_model=2048, n_layers=16, n_heads=16, mlp_hidden_size=8192)


@register_model_preset("olmo2_7b")
def olmo2_7b() -> ModelConfig:
    """allenai/OLMo-2-1124-7B: 32 layers, d 4096, 32 heads, hidden 11008, untied head."""
    return _olmo2(d_model=4096, n_layers=32, n_heads=32, mlp_hidden_size=11008)


def register_hydra_configs() -> None:
    """Store the schema (``model_config``) and every preset (``model/<name>``) in hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    cs.store(name="model_config", node=ModelConfig)
    for name, fn in MODEL_PRESETS.items():
        cs.store(group="model", name=name, node=fn())


register_hydra_configs()
