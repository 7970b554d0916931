"""Losses as pure functions plus the loss objects the trainer calls.

The extension point: a loss object is called as ``loss_fn(model, micro_batch) -> LossOutput`` and
returns *sums* (not means). The trainer divides them by the number of targets in the whole global
batch (all micro-batches, all ranks), which it learns up front from ``loss_fn.num_targets(micro_batch)``,
so neither gradient accumulation nor the micro-batch size changes the result. Register a new loss
with :func:`register_loss` and select it with :class:`LossConfig`; open-instruct's SFT and DPO losses are loss objects like these."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import torch
import torch.nn.functional as F
from torch import nn

from olmo_core.train.fused_ce import DEFAULT_CHUNK_ROWS, linear_cross_entropy_sum

IGNORE_INDEX = -100


@dataclass
class LossOutput:
    """``loss_sum``: the loss summed over the micro-batch's targets (what is optimized, before
    normalization). ``num_target_tokens``: how many targets it covers. ``metrics``: more sums over the
    same targets (reported divided by the global count, like the loss)."""

    loss_sum: torch.Tensor
    num_target_tokens: torch.Tensor | int
    metrics: dict[str, torch.Tensor] = field(default_factory=dict)


@runtime_checkable
class LossFn(Protocol):
    def __call__(self, model: nn.Module, micro_batch: Mapping[str, torch.Tensor]) -> LossOutput: ...

    def num_targets(self, micro_batch: Mapping[str, torch.Tensor]) -> int: ...


def count_targets(labels: torch.Tensor, ignore_index: int = IGNORE_INDEX) -> int:
    return int((labels != ignore_index).sum())


def cross_entropy_sum(logits: torch.Tensor, labels: torch.Tensor, *, ignore_index: int = IGNORE_INDEX,
                      z_loss_multiplier: float | None = None) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Summed token cross-entropy of ``logits [..., V]`` against ``labels [...]`` in float32, and the
    summed z-loss ``multiplier * logsumexp(logits)^2`` over the same targets (PaLM's auxiliary loss
    that keeps the softmax normalizer near 1), or None."""
    logits = logits.reshape(-1, logits.size(-1))
    labels = labels.reshape(-1)
    if z_loss_multiplier is None:
        return F.cross_entropy(logits.float(), labels, ignore_index=ignore_index, reduction="sum"), None
    mask = labels != ignore_index
    logits = logits[mask].float()
    lse = torch.logsumexp(logits, dim=-1)
    ce = (lse - logits.gather(1, labels[mask].unsqueeze(1)).squeeze(1)).sum()
    return ce, z_loss_multiplier * lse.pow(2).sum()


LOSSES: dict[str, Callable[..., LossFn]] = {}


def register_loss(name: str) -> Callable[[Callable[..., LossFn]], Callable[..., LossFn]]:
    def wrap(factory: Callable[..., LossFn]) -> Callable[..., LossFn]:
        LOSSES[name] = factory
        return factory
    return wrap


@dataclass
class LossConfig:
    """``name`` of a registered loss (:data:`LOSSES`); ``z_loss_multiplier`` (e.g. 1e-4) adds the
    z-loss, ``null`` leaves it out. ``LossConfig(...).build()`` is the loss object."""

    name: str = "lm"
    z_loss_multiplier: float | None = None

    def build(self) -> LossFn:
        if self.name not in LOSSES:
            raise ValueError(f"loss.name: unknown {self.name!r}; registered: {sorted(LOSSES)}")
        return LOSSES[self.name](z_loss_multiplier=self.z_loss_multiplier)


def accepts_head_fn(model: nn.Module) -> bool:
    """Whether ``model`` (or the module under its DDP wrapper) takes ``forward(..., head_fn=...)``."""
    from olmo_core.distributed.parallelize import unwrap

    return _forward_accepts_head_fn(type(unwrap(model)))


@functools.cache
def _forward_accepts_head_fn(cls: type) -> bool:
    try:
        return "head_fn" in inspect.signature(cls.forward).parameters
    except (TypeError, ValueError):
        return False


@register_loss("lm")
class LanguageModelingLoss:
    """Next-token cross-entropy on ``input_ids``/``labels`` (``-100`` = no target), optional z-loss.

    The model is called as ``model(input_ids, doc_ids=..., position_ids=...)`` with those the batch carries.
    ``fused`` (default): with a model whose ``forward`` takes ``head_fn`` (olmo-core's OLMo), the
    output head and the loss run together in chunks of ``chunk_rows`` rows
    (:func:`olmo_core.train.fused_ce.linear_cross_entropy_sum`), never building the float32
    ``[B*T, V]`` logits; same sums and gradients as the plain path within float32 rounding. Other
    models, or ``fused=False``, take the plain path."""

    def __init__(self, z_loss_multiplier: float | None = None, ignore_index: int = IGNORE_INDEX,
                 fused: bool = True, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self.z_loss_multiplier, self.ignore_index = z_loss_multiplier, ignore_index
        self.fused, self.chunk_rows = fused, chunk_rows

    def num_targets(self, micro_batch: Mapping[str, torch.Tensor]) -> int:
        return count_targets(micro_batch["labels"], self.ignore_index)

    def __call__(self, model: nn.Module, micro_batch: Mapping[str, torch.Tensor]) -> LossOutput:
        kwargs = {k: micro_batch[k] for k in ("doc_ids", "position_ids") if k in micro_batch}
        labels = micro_batch["labels"]
        n = (labels != self.ignore_index).sum()
        if self.fused and accepts_head_fn(model):
            def head_fn(h: torch.Tensor, weight: torch.Tensor):  # type: ignore[no-untyped-def]
                return linear_cross_entropy_sum(h, weight, labels, ignore_index=self.ignore_index,
                                                z_loss_multiplier=self.z_loss_multiplier,
                                                chunk_rows=self.chunk_rows)

            loss, ce, z = model(micro_batch["input_ids"], head_fn=head_fn, **kwargs)
            metrics = {"ce_loss": ce} if z is None else {"ce_loss": ce, "z_loss": z}
            return LossOutput(loss, n, metrics)
        logits = model(micro_batch["input_ids"], **kwargs)
        ce, z = cross_entropy_sum(logits, labels, ignore_index=self.ignore_index,
                                  z_loss_multiplier=self.z_loss_multiplier)
        if z is None:
            return LossOutput(ce, n, {"ce_loss": ce.detach()})
        return LossOutput(ce + z, n, {"ce_loss": ce.detach(), "z_loss": z.detach()})
