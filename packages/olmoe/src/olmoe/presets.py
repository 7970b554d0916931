"""MoE model presets: ``olmoe_1b_7b`` as published (allenai/OLMoE-1B-7B-0924) and ``olmoe_tiny``,
which trains on a CPU. Each builds an olmo-core :class:`ModelConfig` whose feed-forward is
``olmoe.moe:MoEFeedForward``; importing this module also registers them in olmo-core's
``MODEL_PRESETS`` (and hydra's ConfigStore, group ``model``) so ``get_model_preset`` finds them.

OLMoE-1B-7B: 16 layers, d_model 2048, 16 heads, 64 SwiGLU experts of hidden 1024 each, top-8 without
renormalization, RMSNorm (eps 1e-5) before each sublayer, QK-norm over the full q/k projections, RoPE
theta 10,000, vocabulary 50,304 rows, untied output head, 4096 context; 6,919,161,856 parameters,
1,282,017,280 active per token. Trained with load-balancing loss 0.01 and router z-loss 0.001
(averaged over layers, as megablocks did) and normal(0.02) init."""

from __future__ import annotations

from collections.abc import Callable

from olmo_core.model.config import ModelConfig
from olmo_core.model.presets import MODEL_PRESETS
from olmoe.config import MoEOptions

OLMOE_PRESETS: dict[str, Callable[[], ModelConfig]] = {}


def register_olmoe_preset(name: str) -> Callable[[Callable[[], ModelConfig]], Callable[[], ModelConfig]]:
    def deco(fn: Callable[[], ModelConfig]) -> Callable[[], ModelConfig]:
        OLMOE_PRESETS[name] = fn
        MODEL_PRESETS.setdefault(name, fn)  # olmo-core's registry: `--preset NAME` once olmoe is imported
        return fn

    return deco


def _olmoe_layout(*, d_model: int, n_layers: int, n_heads: int, moe: MoEOptions, **kw: object) -> ModelConfig:
    moe.num_layers = n_layers
    return ModelConfig(d_model=d_model, n_layers=n_layers, n_heads=n_heads, mlp_hidden_size=moe.hidden_size,
                       vocab_size=50280, embedding_size=50304, norm="rmsnorm", norm_eps=1e-5, norm_affine=True,
                       qk_norm=True, reordered_norm=False, rope_theta=10_000.0, clip_qkv=None, weight_tying=False,
                       eos_token_id=50279, pad_token_id=1, init="normal", init_std=0.02,
                       feed_forward=moe.feed_forward(), **kw)  # type: ignore[arg-type]


@register_olmoe_preset("olmoe_1b_7b")
def olmoe_1b_7b() -> ModelConfig:
    """allenai/OLMoE-1B-7B-0924."""
    return _olmoe_layout(d_model=2048, n_layers=16, n_heads=16, max_sequence_length=4096,
                         moe=MoEOptions(num_experts=64, top_k=8, hidden_size=1024))


@register_olmoe_preset("olmoe_tiny")
def olmoe_tiny() -> ModelConfig:
    """The OLMoE layout at CPU size: 2 layers, d_model 128, 8 experts of hidden 128, top-2."""
    return _olmoe_layout(d_model=128, n_layers=2, n_heads=4, max_sequence_length=2048,
                         moe=MoEOptions(num_experts=8, top_k=2, hidden_size=128))


def get_olmoe_preset(name: str) -> ModelConfig:
    try:
        return OLMOE_PRESETS[name]().validate()
    except KeyError:
        raise KeyError(f"unknown olmoe preset {name!r}; known: {sorted(OLMOE_PRESETS)}") from None


def register_hydra_configs() -> None:
    from hydra.core.config_store import ConfigStore

    cs = ConfigStore.instance()
    for name, fn in OLMOE_PRESETS.items():
        cs.store(group="model", name=name, node=fn())


register_hydra_configs()
