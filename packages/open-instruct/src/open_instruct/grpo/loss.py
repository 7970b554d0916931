"""GRPO's advantages and loss as pure functions (DeepSeekMath's GRPO, DAPO's clip-higher and
token-level normalization, Dr. GRPO's constant normalizer), in the sum/count form of olmo-core's
Trainer (``olmo_core.train.loss``): ``grpo_loss`` returns a *sum* and the count the Trainer divides
it by, over the whole global batch, so neither gradient accumulation nor the number of ranks
changes the result.

Per completion token t of sequence i, with ``ratio = exp(logp - old_logp)`` and advantage ``A_i``::

    pg   = -min(ratio * A_i, clip(ratio, 1 - clip_low, 1 + clip_high) * A_i)
    kl   = exp(ref - logp) - (ref - logp) - 1          # k3 estimator of KL(policy || reference)
    loss = pg + beta * kl        (kl times ratio with ``kl_ratio_correction``, TRL's use_bias_correction_kl)

normalized by ``loss_type``:

* ``grpo``: each sequence's mean over its tokens, summed over sequences; count = sequences.
* ``dapo`` (token-level, DAPO; TRL's ``dapo``/``bnpo`` on one batch): summed over all tokens;
  count = tokens.
* ``dr_grpo``: summed over all tokens; count = sequences * ``max_completion_length`` (a constant,
  so no length bias)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

LOSS_TYPES = ("grpo", "dapo", "dr_grpo")


def group_advantages(rewards: Tensor, group_size: int, *, scale: bool = True, eps: float = 1e-4) -> Tensor:
    """``(r - mean_group) / (std_group + eps)`` (``scale``, GRPO) or ``r - mean_group`` (Dr. GRPO).

    ``rewards [N]`` holds ``N / group_size`` groups one after the other; std is the sample standard
    deviation (Bessel-corrected, as TRL's ``nanstd``), so a group whose rewards are all equal gets
    advantage 0."""
    rewards = torch.as_tensor(rewards)
    if rewards.dim() != 1 or group_size < 1 or rewards.numel() % group_size:
        raise ValueError(f"group_advantages: {tuple(rewards.shape)} rewards are not whole groups of {group_size}")
    r = rewards.float().view(-1, group_size)
    centered = r - r.mean(dim=1, keepdim=True)
    if scale:
        std = r.std(dim=1, keepdim=True) if group_size > 1 else torch.zeros_like(centered[:, :1])
        centered = centered / (std + eps)
    return centered.reshape(-1)


@dataclass(frozen=True)
class _Normalization:
    seq_reduce: bool  # per-sequence mean first (grpo), else a plain token sum
    count: Callable[[Tensor, int | None], float]


def _need_length(mask: Tensor, max_len: int | None) -> float:
    if not max_len:
        raise ValueError("loss_type='dr_grpo' needs max_completion_length")
    return float(mask.shape[0] * max_len)


NORMALIZATIONS: dict[str, _Normalization] = {
    "grpo": _Normalization(True, lambda mask, _: float(mask.shape[0])),
    "dapo": _Normalization(False, lambda mask, _: float(mask.sum())),
    "dr_grpo": _Normalization(False, _need_length),
}


def loss_count(loss_type: str, mask: Tensor, max_completion_length: int | None = None) -> float:
    """What ``grpo_loss``'s sum is divided by, for a micro-batch with completion ``mask [B, T]``."""
    if loss_type not in NORMALIZATIONS:
        raise ValueError(f"loss_type={loss_type!r}: unknown; known: {', '.join(NORMALIZATIONS)}")
    return NORMALIZATIONS[loss_type].count(mask, max_completion_length)


def _reduce(x: Tensor, mask: Tensor, norm: _Normalization) -> Tensor:
    if norm.seq_reduce:
        return ((x * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).sum()
    return (x * mask).sum()


def grpo_loss(logps: Tensor, old_logps: Tensor | None, ref_logps: Tensor | None, advantages: Tensor, mask: Tensor,
              *, beta: float, clip_low: float = 0.2, clip_high: float = 0.2, loss_type: str = "grpo",
              max_completion_length: int | None = None,
              kl_ratio_correction: bool = False) -> tuple[Tensor, float, dict[str, Tensor]]:
    """``(loss_sum, count, metrics)`` for per-token ``logps [B, T]`` of the completions under the
    policy (with grad), ``old_logps`` (the policy that sampled them; ``None``: the policy itself,
    as with one iteration per rollout batch, where the ratio is 1), ``ref_logps`` (the frozen
    reference; only needed with ``beta != 0``), ``advantages [B]`` and ``mask [B, T]`` (1 on
    completion tokens). Metrics are sums in the same unit as ``count`` (so the Trainer's division
    gives their mean): ``kl``, ``clip_ratio/low``, ``clip_ratio/high``, ``ratio``."""
    norm_count = loss_count(loss_type, mask, max_completion_length)
    norm = NORMALIZATIONS[loss_type]
    mask = mask.to(logps.dtype)
    old = logps.detach() if old_logps is None else old_logps.to(logps.dtype)
    adv = advantages.to(logps.dtype).unsqueeze(1)
    ratio = torch.exp(logps - old)
    clipped = torch.clamp(ratio, 1.0 - clip_low, 1.0 + clip_high)
    per_token = -torch.min(ratio * adv, clipped * adv)
    metrics: dict[str, Tensor] = {}
    if beta != 0.0:
        if ref_logps is None:
            raise ValueError(f"grpo_loss: beta={beta} needs ref_logps")
        delta = ref_logps.to(logps.dtype) - logps
        kl = torch.exp(delta) - delta - 1.0
        if kl_ratio_correction:
            kl = kl * ratio
        per_token = per_token + beta * kl
        metrics["kl"] = kl.detach()
    with torch.no_grad():
        metrics["clip_ratio/low"] = ((ratio < 1.0 - clip_low) & (adv < 0)).to(logps.dtype)
        metrics["clip_ratio/high"] = ((ratio > 1.0 + clip_high) & (adv > 0)).to(logps.dtype)
        metrics["ratio"] = ratio.detach()
    # dr_grpo reports its metrics as means of per-sequence means (times the constant it divides by),
    # not as token sums over a count that is mostly padding.
    scale = float(max_completion_length) if loss_type == "dr_grpo" else 1.0
    metric_norm = NORMALIZATIONS["grpo"] if loss_type == "dr_grpo" else norm
    out = {k: _reduce(v, mask, metric_norm) * scale for k, v in metrics.items()}
    return _reduce(per_token, mask, norm), norm_count, out
