"""Our side of ``train_step.py``: olmo-core's ``Trainer.train_step`` (global-token loss normalization,
clipping, spike check, metrics, batch digest) on the model loaded from an olmo-core checkpoint.

config: ``checkpoint``, ``tokens`` (JSON file of ``[B, T+1]`` token ids), ``steps`` (per round), ``lr``,
``weight_decay``, ``betas``, ``eps``, ``max_grad_norm``, ``fused_loss``, ``compile``, ``device``,
``threads``, ``run_dir``.
"""

from __future__ import annotations

import json
from typing import Any

import torch


class _NoLoader:
    """The trainer wants a loader; the benchmark hands it the batch itself."""

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(())

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


def setup(config: dict):  # type: ignore[no-untyped-def]
    torch.set_num_threads(int(config["threads"]))
    torch.manual_seed(0)
    from olmo_core.checkpoint.model_io import load_model_checkpoint
    from olmo_core.distributed.parallelize import ParallelConfig, parallelize
    from olmo_core.optim.adamw import OptimConfig
    from olmo_core.optim.scheduler import SchedulerConfig
    from olmo_core.train.loss import LanguageModelingLoss
    from olmo_core.train.trainer import Trainer, TrainerConfig

    device = torch.device(config["device"])
    # the file was written by this run; hashing it again is setup time only
    model = load_model_checkpoint(config["checkpoint"], device=device, verify_hashes=False)
    pcfg = ParallelConfig(strategy="single", param_dtype="float32", compile=bool(config.get("compile")))
    model = parallelize(model, pcfg, device)
    # fused=None: OptimConfig.build picks fused AdamW for plain CPU/CUDA tensors (what it does in training)
    ocfg = OptimConfig(lr=config["lr"], betas=tuple(config["betas"]), eps=config["eps"],
                       weight_decay=config["weight_decay"], scheduler=SchedulerConfig(name="constant", warmup_steps=0),
                       max_grad_norm=config["max_grad_norm"])
    opt = ocfg.build(model)
    with open(config["tokens"]) as f:
        tokens = torch.tensor(json.load(f), dtype=torch.long)
    mb = {"input_ids": tokens[:, :-1].contiguous(), "labels": tokens[:, 1:].contiguous()}
    trainer = Trainer(model=model, optimizer=opt, loss_fn=LanguageModelingLoss(fused=bool(config["fused_loss"])),
                      loader=_NoLoader(), cfg=TrainerConfig(run_dir=config["run_dir"], max_steps=10**9,
                                                            resume="none", callbacks={}),
                      optim_cfg=ocfg, parallel_cfg=pcfg, device=device)
    steps = int(config["steps"])

    def round_fn() -> dict:
        losses = []
        for _ in range(steps):
            metrics = trainer.train_step([mb])
            trainer.step += 1
            losses.append(float(metrics["train/loss"]))
        return {"units": steps * mb["input_ids"].numel(), "output": losses, "device": device.type}

    return round_fn
