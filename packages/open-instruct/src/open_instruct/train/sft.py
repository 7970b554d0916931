"""Supervised fine-tuning: :class:`SFTConfig` and :func:`run` on olmo-core's Trainer.

What differs from pretraining is only the batch source (``PackedBatches`` of chat examples, the
assistant tokens as targets) and the loss (``SFTLoss``); the rest is ``open_instruct.train.common``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from olmo_core.distributed.utils import get_rank, get_world_size
from olmo_core.train.trainer import TrainerConfig
from open_instruct.train import common
from open_instruct.train.batches import PackedBatches
from open_instruct.train.config import InstructRunConfig, default_trainer
from open_instruct.train.objectives import SFTLoss


@dataclass
class SFTConfig(InstructRunConfig):
    """An SFT run (the fields are :class:`InstructRunConfig`'s; Tulu 2's recipe by default)."""

    kind: str = "sft"
    trainer: TrainerConfig = field(default_factory=lambda: default_trainer("runs/sft"))

    def build_loss(self) -> SFTLoss:
        return SFTLoss()


def run(cfg: SFTConfig) -> dict[str, Any]:
    """Train; returns (and writes to ``<run_dir>/summary.json``) the run's summary."""
    ctx = common.start(cfg)
    data, stats = common.load_data(cfg, ctx)
    data, heldout = common.split_holdout(data, cfg.data.holdout)
    model_cfg, ckpt = common.init_model_config(cfg)
    summary: dict[str, Any] = {"kind": cfg.kind, "init_from": str(ckpt or cfg.init_from), "units": data.num_examples,
                               "heldout": int(len(heldout)), "mix": stats.to_dict()}
    batches = PackedBatches(data, global_batch_size=cfg.batch.global_batch_size,
                            micro_batch_size=cfg.batch.micro_batch_size, max_length=cfg.data.max_length,
                            seed=cfg.data.seed, epochs=cfg.batch.epochs, shuffle=cfg.batch.shuffle,
                            pad_id=ctx.tokenizer.pad_token_id, rank=get_rank(), world_size=get_world_size())
    common.set_schedule(cfg, batches.steps_per_epoch * cfg.batch.epochs, ckpt)
    result = common.fit(cfg, ctx, model_cfg, loader=batches, loss_fn=cfg.build_loss(), stats=stats)
    summary.update(result.summary(Path(cfg.trainer.run_dir)))
    return common.write_summary(cfg, ctx, summary)
