"""Run presets named after the published recipes, plus ``tiny`` ones that run on a CPU in seconds.

* ``tulu2_sft_olmo_7b``: OLMo-7B-Instruct's SFT on the Tulu 2 recipe: lr 2e-6, 3 epochs, linear
  warmup over 3% of the steps then linear decay to 0, 2048 tokens, effective batch 128, no weight
  decay, AdamW (0.9, 0.999, eps 1e-8).
* ``tulu2_dpo_olmo_7b``: DPO as in Tulu 2 / OLMo-7B-Instruct: sigmoid loss, beta 0.1, lr 5e-7,
  3 epochs, warmup 10%, effective batch 32 pairs, 2048 tokens.
* ``tulu3_dpo_norm_olmo_7b``: Tulu 3's length-normalised DPO: ``dpo_norm``, beta 5, lr 5e-7,
  1 epoch, warmup 10%, batch 128 pairs, 2048 tokens.
* ``tiny_sft`` / ``tiny_dpo``: the same shapes at CPU size on ``../shared/data/instruct``.
* ``tiny_grpo``: open-instruct's ``grpo_fast`` recipe (``GRPOConfig``'s defaults) at CPU size, on a task
  JSONL given as ``tasks=``.

Each preset is its method's config (``SFTConfig``, ``DPOConfig``, ``GRPOConfig``) and sets only what
differs from its defaults (Tulu 2's SFT recipe:
AdamW (0.9, 0.999, 1e-8), no weight decay or clipping, warmup ratio 0.03 then linear decay to 0,
batch 128, 3 epochs, 2048 tokens; sigmoid DPO with beta 0.1). Each is stored in hydra's ConfigStore
under its name; ``compose_config`` applies overrides."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from hydra.core.config_store import ConfigStore

from open_instruct.train.config import (
    DPO_DATA,
    SFT_DATA,
    BatchConfig,
    InstructDataConfig,
    InstructRunConfig,
    PreferenceConfig,
)
from open_instruct.train.dpo import DPOConfig
from open_instruct.train.grpo import GRPOConfig
from open_instruct.train.run import METHODS
from open_instruct.train.sft import SFTConfig

RUN_PRESETS: dict[str, Callable[[], InstructRunConfig]] = {}
TINY_DPO_PAIRS = f"{DPO_DATA}:10000"


def register_preset(name: str) -> Callable[[Callable[[], InstructRunConfig]], Callable[[], InstructRunConfig]]:
    def wrap(fn: Callable[[], InstructRunConfig]) -> Callable[[], InstructRunConfig]:
        RUN_PRESETS[name] = fn
        ConfigStore.instance().store(name=name, node=fn())
        return fn
    return wrap


def _with(cfg: InstructRunConfig, **changes) -> InstructRunConfig:
    for key, value in changes.items():
        obj = cfg
        *path, last = key.split(".")
        for p in path:
            obj = getattr(obj, p)
        setattr(obj, last, value)
    return cfg


@register_preset("tulu2_sft_olmo_7b")
def tulu2_sft_olmo_7b() -> SFTConfig:
    cfg = SFTConfig(init_from="checkpoints/olmo_7b", data=InstructDataConfig(sources=[SFT_DATA]),
                            batch=BatchConfig(micro_batch_size=2))
    return _with(cfg, **{"optim.lr": 2e-6, "trainer.run_dir": "runs/tulu2_sft_olmo_7b",
                         "parallel.param_dtype": "bfloat16", "parallel.activation_checkpointing": "full"})


@register_preset("tulu2_dpo_olmo_7b")
def tulu2_dpo_olmo_7b() -> DPOConfig:
    cfg = DPOConfig(init_from="runs/tulu2_sft_olmo_7b", warmup_ratio=0.1,
                            data=InstructDataConfig(sources=[DPO_DATA]),
                            batch=BatchConfig(global_batch_size=32, micro_batch_size=1))
    return _with(cfg, **{"optim.lr": 5e-7, "trainer.run_dir": "runs/tulu2_dpo_olmo_7b",
                         "parallel.param_dtype": "bfloat16", "parallel.activation_checkpointing": "full"})


@register_preset("tulu3_dpo_norm_olmo_7b")
def tulu3_dpo_norm_olmo_7b() -> DPOConfig:
    cfg = tulu2_dpo_olmo_7b()
    cfg.dpo = PreferenceConfig(loss="dpo_norm", beta=5.0)
    cfg.batch = BatchConfig(micro_batch_size=1, epochs=1)
    cfg.trainer.run_dir = "runs/tulu3_dpo_norm_olmo_7b"
    return cfg


@register_preset("tiny_sft")
def tiny_sft() -> SFTConfig:
    # The shared SFT and DPO files ask the same questions: leave out the ones tiny_dpo trains and
    # holds out on, so its held-out pairs are unseen by both models.
    cfg = SFTConfig(data=InstructDataConfig(sources=[f"{SFT_DATA}:4000"], exclude=[TINY_DPO_PAIRS],
                                                    max_length=256),
                            batch=BatchConfig(global_batch_size=32, micro_batch_size=32, epochs=2))
    return _with(cfg, **{"optim.lr": 1e-3, "trainer.run_dir": "runs/tiny_sft",
                         "trainer.checkpoint.every": 100})


@register_preset("tiny_dpo")
def tiny_dpo() -> DPOConfig:
    # The published beta; a CPU-sized lr and two epochs, because the held-out gain of a tiny model
    # needs that much movement to show (one epoch at 1e-3: +0.011, p = 0.28; this: +0.026, p = 0.015).
    cfg = DPOConfig(init_from="runs/tiny_sft", warmup_ratio=0.1,
                            data=InstructDataConfig(sources=[TINY_DPO_PAIRS], max_length=256, holdout=2000),
                            batch=BatchConfig(global_batch_size=32, micro_batch_size=32, epochs=2))
    return _with(cfg, **{"optim.lr": 2e-3, "trainer.run_dir": "runs/tiny_dpo", "trainer.checkpoint.every": 100})


@register_preset("tiny_grpo")
def tiny_grpo() -> GRPOConfig:
    # grpo_fast's recipe (GRPOConfig's defaults: k3 KL at beta 0.05, clip 0.2, dapo token-level loss,
    # temperature 0.7) at CPU size: 8 prompts x 4 samples a step, 16 new tokens, 256-token sequences.
    cfg = GRPOConfig(data=InstructDataConfig(sources=[], max_length=256),
                     batch=BatchConfig(global_batch_size=8, micro_batch_size=8, epochs=1))
    return _with(cfg, **{"rollout.max_new_tokens": 16, "optim.lr": 1e-4, "trainer.run_dir": "runs/tiny_grpo",
                         "trainer.checkpoint.every": 50})


def compose_config(preset: str, overrides: list[str] | None = None) -> Any:
    """The preset with hydra overrides applied (``optim.lr=1e-5 data.sources=[a.jsonl:50%]``)."""
    from hydra import compose, initialize
    from omegaconf import OmegaConf

    if preset not in RUN_PRESETS:
        raise ValueError(f"--preset {preset!r}: unknown; known: {', '.join(RUN_PRESETS)}")
    with initialize(version_base=None, config_path=None):
        cfg = compose(config_name=preset, overrides=list(overrides or []))
    out = OmegaConf.to_object(cfg)
    if config_kind(out) not in METHODS:
        raise ValueError(f"kind={config_kind(out)!r}: must be one of {', '.join(METHODS)}")
    return out


def config_kind(cfg: Any) -> str | None:
    """The method a run config is for: its ``kind`` field (every method's config has one)."""
    return getattr(cfg, "kind", None)


def as_dict(cfg: InstructRunConfig) -> dict:
    return dataclasses.asdict(cfg)
