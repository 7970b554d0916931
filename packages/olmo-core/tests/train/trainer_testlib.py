"""Small pieces shared by trainer tests (not fixtures: plain functions and classes)."""

from __future__ import annotations

from typing import Any

import torch

from olmo_core.model.config import ModelConfig
from olmo_core.model.transformer import OLMo
from olmo_core.optim.adamw import OptimConfig
from olmo_core.optim.scheduler import SchedulerConfig
from olmo_core.train.loss import LanguageModelingLoss
from olmo_core.train.trainer import Trainer, TrainerConfig


class ListLoader:
    """The loader contract at its simplest: a list of steps, each a list of micro-batches."""

    def __init__(self, steps: list[list[dict[str, torch.Tensor]]]) -> None:
        self.steps, self.pos = steps, 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        while self.pos < len(self.steps):
            self.pos += 1
            yield self.steps[self.pos - 1]

    def state_dict(self) -> dict[str, Any]:
        return {"pos": self.pos}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.pos = state["pos"]


def small_config() -> ModelConfig:
    return ModelConfig(d_model=32, n_layers=1, n_heads=2, mlp_hidden_size=64, vocab_size=100, embedding_size=128,
                       eos_token_id=99, pad_token_id=1, max_sequence_length=64)


def small_model(seed: int = 0) -> OLMo:
    model = small_config().build()
    model.init_weights(seed)
    return model


def make_trainer(model: torch.nn.Module, steps: list, tmp_path, *, loss_fn=None, **cfg: Any) -> Trainer:  # type: ignore[no-untyped-def]
    optim_cfg = OptimConfig(lr=1e-2, scheduler=SchedulerConfig(name="constant", warmup_steps=0),
                            max_grad_norm=cfg.pop("max_grad_norm", None))
    cfg.setdefault("resume", "none")
    tcfg = TrainerConfig(run_dir=str(tmp_path), max_steps=len(steps), callbacks={}, **cfg)
    return Trainer(model=model, optimizer=optim_cfg.build(model), loss_fn=loss_fn or LanguageModelingLoss(),
                   loader=ListLoader(steps), cfg=tcfg, optim_cfg=optim_cfg)


def capture_grads(trainer: Trainer, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """Returns a dict that receives the gradients right before the optimizer consumes them."""
    grads: dict[str, torch.Tensor] = {}
    step = trainer.optimizer.step

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        grads.update({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
        return step(*args, **kwargs)

    trainer.optimizer.step = wrapped  # type: ignore[method-assign]
    return grads
