"""The loss objects olmo-core's Trainer calls: ``loss_fn(model, micro_batch) -> LossOutput``.

Both return sums plus the count the trainer divides by over the whole global batch: target tokens
for SFT, pairs for DPO. They are registered in olmo-core's loss registry as ``sft`` and ``dpo``."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from olmo_core.train.loss import LossOutput, register_loss
from open_instruct.logprobs import model_sequence_logprobs, model_target_logprobs
from open_instruct.losses.dpo import (
    PreferenceLogps,
    check_label_smoothing,
    chosen_nll,
    dpo_loss,
    needs_reference,
)
from open_instruct.losses.sft import sft_loss_sum


@register_loss("sft")
class SFTLoss:
    """Negative log-likelihood of the assistant tokens (``open_instruct.losses.sft``)."""

    def num_targets(self, micro_batch: Mapping[str, torch.Tensor]) -> int:
        return int(micro_batch["labels"][:, 1:].sum())

    def __call__(self, model: nn.Module, micro_batch: Mapping[str, torch.Tensor]) -> LossOutput:
        logp, _ = model_target_logprobs(model, dict(micro_batch))
        loss_sum, n = sft_loss_sum(logp)
        return LossOutput(loss_sum, n, {})


@register_loss("dpo")
class DPOLoss:
    """A preference loss from ``open_instruct.losses.dpo`` on one concatenated forward pass: every
    micro-batch row holds whole pairs, chosen and rejected as neighbouring documents. Reference
    log-probs come with the batch (``ref_logps``, from the reference cache)."""

    def __init__(self, loss: str = "dpo", beta: float = 0.1, label_smoothing: float = 0.0,
                 gamma: float = 0.5, rpo_alpha: float | None = None) -> None:
        check_label_smoothing(loss, label_smoothing)  # at config build, not at the first step
        if rpo_alpha is not None and rpo_alpha < 0:
            raise ValueError(f"rpo_alpha must be >= 0 or None (got {rpo_alpha})")
        self.loss, self.beta, self.label_smoothing, self.gamma = loss, beta, label_smoothing, gamma
        self.rpo_alpha = rpo_alpha

    def num_targets(self, micro_batch: Mapping[str, torch.Tensor]) -> int:
        return int(micro_batch["seq_index"].numel()) // 2

    def logps(self, model: nn.Module, micro_batch: Mapping[str, torch.Tensor]) -> PreferenceLogps:
        batch = dict(micro_batch)
        sums, counts = model_sequence_logprobs(model, batch)
        seq = batch["seq_index"]
        # collate() emits each pair as (chosen = 2p, rejected = 2p + 1), next to each other.
        if not (bool((seq[0::2] % 2 == 0).all()) and bool((seq[1::2] == seq[0::2] + 1).all())):
            raise ValueError("DPO micro-batch documents are not (chosen, rejected) pairs in order")
        ref_c = ref_r = None
        if "ref_logps" in batch:
            ref = batch["ref_logps"].to(sums.dtype)
            ref_c, ref_r = ref[0::2], ref[1::2]
            if "ref_counts" in batch and not torch.equal(batch["ref_counts"].to(counts.device), counts):
                raise ValueError("reference cache token counts differ from this batch's: stale cache?")
        return PreferenceLogps(sums[0::2], sums[1::2], counts[0::2], counts[1::2], ref_c, ref_r)

    def __call__(self, model: nn.Module, micro_batch: Mapping[str, torch.Tensor]) -> LossOutput:
        return self.from_logps(self.logps(model, micro_batch))

    def from_logps(self, lp: PreferenceLogps) -> LossOutput:
        if needs_reference(self.loss) and lp.ref_chosen is None:
            raise ValueError(f"the {self.loss!r} loss needs reference log-probs in the batch (ref_logps)")
        losses, rc, rr = dpo_loss(self.loss, lp, beta=self.beta, label_smoothing=self.label_smoothing,
                                  gamma=self.gamma)
        metrics = {
            "rewards/chosen": rc.sum(), "rewards/rejected": rr.sum(),
            "rewards/accuracy": (rc > rr).float().sum(), "rewards/margin": (rc - rr).sum(),
            "logps/chosen": lp.policy_chosen.detach().sum(), "logps/rejected": lp.policy_rejected.detach().sum(),
            "lengths/chosen": lp.chosen_tokens.float().sum(), "lengths/rejected": lp.rejected_tokens.float().sum(),
        }
        loss_sum = losses.sum()
        if self.rpo_alpha is not None:
            # The trainer divides by the pair count, so the micro-batch's token-mean NLL enters once per pair:
            # with one micro-batch per step this is TRL's loss + rpo_alpha * nll exactly; with several it is
            # their pair-weighted mean (TRL averages over accumulation steps likewise).
            nll = chosen_nll(lp)
            loss_sum = loss_sum + self.rpo_alpha * nll * losses.numel()
            metrics["nll/chosen"] = nll.detach() * losses.numel()
        return LossOutput(loss_sum, int(losses.numel()), metrics)
