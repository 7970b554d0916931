"""Our side of ``tools/bench/vs_olmo_core.py`` (dense train step): olmo-core's ``Trainer.train_step``
(global-token loss normalisation, clipping, spike check, metrics, batch digest) on our ``OLMo`` in the
OLMo-2 layout (the ``tiny_olmo2`` preset resized to the benchmark's size: RMSNorm after each sublayer,
QK-norm, theta 500k, untied head, the 50,304-row OLMo vocabulary), weights loaded from the safetensors
file the benchmark wrote, with ``OptimConfig.build``'s AdamW (fused on plain CPU/CUDA tensors) and the
fused chunked head + cross-entropy loss (``fused_loss``; false: the plain loss).

config: ``weights``, ``tokens``, ``d_model``, ``n_layers``, ``n_heads``, ``mlp_hidden_size``, ``steps``,
``lr``, ``betas``, ``eps``, ``weight_decay``, ``max_grad_norm``, ``fused_loss``, ``device``, ``threads``,
``compile``, ``run_dir``.
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


def model_config(config: dict):  # type: ignore[no-untyped-def]
    from olmo_core.model.presets import get_model_preset

    return get_model_preset("tiny_olmo2").replace(
        d_model=int(config["d_model"]), n_layers=int(config["n_layers"]), n_heads=int(config["n_heads"]),
        mlp_hidden_size=int(config["mlp_hidden_size"]))


def setup(config: dict):  # type: ignore[no-untyped-def]
    torch.set_num_threads(int(config["threads"]))
    torch.manual_seed(0)
    from safetensors.torch import load_file

    from olmo_core.distributed.parallelize import ParallelConfig, parallelize
    from olmo_core.model.transformer import OLMo
    from olmo_core.optim.adamw import OptimConfig
    from olmo_core.optim.scheduler import SchedulerConfig
    from olmo_core.train.loss import LanguageModelingLoss
    from olmo_core.train.trainer import Trainer, TrainerConfig

    device = torch.device(config["device"])
    model = OLMo(model_config(config))
    model.load_state_dict(load_file(config["weights"]), strict=True)
    pcfg = ParallelConfig(strategy="single", param_dtype="float32", compile=bool(config.get("compile")))
    model = parallelize(model, pcfg, device)
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
