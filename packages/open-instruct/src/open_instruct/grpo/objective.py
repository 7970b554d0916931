"""The loss object olmo-core's Trainer calls for GRPO: ``loss_fn(model, micro_batch) -> LossOutput``,
registered in ``olmo_core.train.loss.LOSSES`` as ``grpo``.

A micro-batch (``open_instruct.grpo.rollouts.collate``) carries the rows, ``labels`` (completion
tokens), ``advantages [B]`` and, when needed, ``old_logps``/``ref_logps [B, T-1]`` computed at
sampling time. ``num_targets`` is the count ``grpo_loss`` normalizes by (sequences or tokens), so the
Trainer's division over the global batch is exactly the loss type's normalization."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from olmo_core.train.loss import LossOutput, register_loss
from open_instruct.grpo.logprobs import completion_logprobs
from open_instruct.grpo.loss import grpo_loss, loss_count


@register_loss("grpo")
class GRPOLoss:
    def __init__(self, *, beta: float = 0.0, clip_low: float = 0.2, clip_high: float = 0.2, loss_type: str = "dapo",
                 max_completion_length: int | None = None, temperature: float = 1.0,
                 kl_ratio_correction: bool = False, z_loss_multiplier: float | None = None) -> None:
        if z_loss_multiplier is not None:
            raise ValueError("the grpo loss has no z-loss (loss.z_loss_multiplier must be null)")
        loss_count(loss_type, torch.ones(1, 1), max_completion_length)  # a bad loss_type fails at build
        self.beta, self.clip_low, self.clip_high, self.loss_type = beta, clip_low, clip_high, loss_type
        self.max_completion_length, self.temperature = max_completion_length, temperature
        self.kl_ratio_correction = kl_ratio_correction

    def _mask(self, micro_batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return micro_batch["labels"][:, 1:].bool()

    def num_targets(self, micro_batch: Mapping[str, torch.Tensor]) -> int:
        return int(loss_count(self.loss_type, self._mask(micro_batch), self.max_completion_length))

    def __call__(self, model: nn.Module, micro_batch: Mapping[str, torch.Tensor]) -> LossOutput:
        batch = dict(micro_batch)
        logps = completion_logprobs(model, batch, self.temperature)
        loss_sum, count, metrics = grpo_loss(
            logps, batch.get("old_logps"), batch.get("ref_logps"), batch["advantages"], self._mask(batch),
            beta=self.beta, clip_low=self.clip_low, clip_high=self.clip_high, loss_type=self.loss_type,
            max_completion_length=self.max_completion_length, kl_ratio_correction=self.kl_ratio_correction)
        return LossOutput(loss_sum, int(count), metrics)
