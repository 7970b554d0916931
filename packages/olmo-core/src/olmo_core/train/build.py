"""Everything a pretraining run needs, built from a :class:`olmo_core.config.schema.RunConfig`.

Other packages reuse the pieces (``build_model``, ``build_optimizer``, ``build_callbacks``, ``Trainer``)
and swap in their own loader and loss."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from olmo_core.config.schema import RunConfig
from olmo_core.data.loader import TokenBatchLoader
from olmo_core.distributed.parallelize import parallelize
from olmo_core.distributed.utils import get_rank, get_world_size, init_distributed
from olmo_core.optim.adamw import build_optimizer
from olmo_core.train.callbacks import build_callback
from olmo_core.train.callbacks.checkpointer import Checkpointer
from olmo_core.train.loss import build_loss
from olmo_core.train.trainer import Trainer, TrainerConfig


def build_model(cfg: RunConfig, device: torch.device) -> nn.Module:
    """The OLMo model of ``cfg.model``, initialized from ``cfg.init_seed`` and parallelized.

    Built on the meta device (no CPU copy, no throwaway init), materialized on this rank's device,
    initialized there from the seed (so the weights are the same at any world size), then sharded:
    FSDP frees the other ranks' shards at once."""
    from olmo_core.model.transformer import OLMo

    with torch.device("meta"):
        model = OLMo(cfg.model)
    model.to_empty(device=device)
    model.init_weights(cfg.init_seed)
    return parallelize(model, cfg.parallel, device)


def build_callbacks(specs: dict[str, dict[str, Any]], *, seq_len: int | None = None,
                    config: dict[str, Any] | None = None) -> list[Any]:
    out = []
    for name, options in specs.items():
        if options is None:
            continue
        opts = dict(options)
        if name == "speed":
            opts.setdefault("seq_len", seq_len)
        if name == "wandb":
            opts.setdefault("config", config)
        out.append(build_callback(name, **opts))
    return out


def run_config_dict(cfg: RunConfig) -> dict[str, Any]:
    d = dataclasses.asdict(cfg)
    d.pop("defaults", None)
    return d


def build_trainer(cfg: RunConfig, *, extra_callbacks: Sequence[Any] = ()) -> Trainer:
    device = init_distributed()
    torch.manual_seed(cfg.trainer.seed)
    model = build_model(cfg, device)
    optimizer = build_optimizer(model, cfg.optim)
    loader = TokenBatchLoader.from_config(cfg.data, rank=get_rank(), world_size=get_world_size(),
                                          max_steps=cfg.trainer.max_steps, expect_eos_id=cfg.model.eos_token_id)
    vocab = loader.source.dataset.vocab_size
    if vocab > cfg.model.embedding_size:
        raise ValueError(f"{cfg.data.paths}: token vocabulary {vocab} exceeds model.embedding_size "
                         f"{cfg.model.embedding_size}")
    loss = build_loss(cfg.loss.name, z_loss_multiplier=cfg.loss.z_loss_multiplier)
    config = run_config_dict(cfg)
    callbacks = build_callbacks(cfg.trainer.callbacks, seq_len=cfg.data.seq_len, config=config)
    ck = cfg.trainer.checkpoint
    callbacks.append(Checkpointer(every=ck.every, save_at_end=ck.save_at_end))
    callbacks.extend(extra_callbacks)
    run_dir = Path(cfg.trainer.run_dir)
    if get_rank() == 0:
        run_dir.mkdir(parents=True, exist_ok=True)
        tmp = run_dir / "config.json.tmp"
        tmp.write_text(json.dumps(config, indent=1, default=str))
        tmp.replace(run_dir / "config.json")
    return Trainer(model=model, optimizer=optimizer, loss_fn=loss, loader=loader, cfg=cfg.trainer,
                   optim_cfg=cfg.optim, parallel_cfg=cfg.parallel, device=device, callbacks=callbacks,
                   run_config=config)


__all__ = ["build_model", "build_callbacks", "build_trainer", "run_config_dict", "TrainerConfig"]
