"""Log-probabilities of target tokens, summed per document of a (packed) micro-batch.

Only target positions need logits. ``model_target_logprobs`` therefore runs the model with its
output head swapped for the identity, picks the hidden states of the target positions and applies
the head to those alone: with a 50k vocabulary and mostly-prompt DPO sequences this skips most of
the head's work and never materializes B x T x V logits. A sharded head (FSDP2 DTensor) cannot be
called outside the model's forward, so there the full logits are computed and then selected."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def forward(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Logits for a collated micro-batch, with per-document attention and restarting positions."""
    return model(batch["input_ids"], doc_ids=batch["doc_ids"], position_ids=batch["position_ids"])


def _unwrap(model: nn.Module) -> nn.Module:
    return getattr(model, "module", model)  # DDP


def _head_is_local(head: object) -> bool:
    if not isinstance(head, nn.Linear):
        return False
    from torch.distributed.tensor import DTensor

    return not isinstance(head.weight, DTensor)


def _logp(logits: torch.Tensor, tokens: torch.Tensor, vocab_size: int | None) -> torch.Tensor:
    if vocab_size is not None:
        logits = logits[:, :vocab_size]  # columns past the vocabulary are embedding padding
    return -F.cross_entropy(logits.float(), tokens, reduction="none")


def target_logprobs(logits: torch.Tensor, batch: dict[str, torch.Tensor],
                    vocab_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logp, doc)`` from full logits: log p(x_t | x_<t) for every target token t (1-D, float32),
    and its document."""
    targets = batch["labels"][:, 1:]
    logp = _logp(logits[:, :-1][targets], batch["input_ids"][:, 1:][targets], vocab_size)
    return logp, batch["doc_ids"][:, 1:][targets]


def model_target_logprobs(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Like ``target_logprobs(forward(model, batch), batch)``, applying the head to target rows only."""
    inner = _unwrap(model)
    head = getattr(inner, "lm_head", None)
    vocab = getattr(inner, "vocab_size", None)
    if not _head_is_local(head):
        return target_logprobs(forward(model, batch), batch, vocab)
    inner.lm_head = nn.Identity()
    try:
        hidden = forward(model, batch)
    finally:
        inner.lm_head = head
    targets = batch["labels"][:, 1:]
    logp = _logp(head(hidden[:, :-1][targets]), batch["input_ids"][:, 1:][targets], vocab)
    return logp, batch["doc_ids"][:, 1:][targets]


def _per_doc(logp: torch.Tensor, doc: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    sums = torch.zeros(n, dtype=torch.float32, device=logp.device).index_add(0, doc, logp)
    counts = torch.zeros(n, dtype=torch.int64, device=logp.device).index_add(0, doc, torch.ones_like(doc))
    return sums, counts


def sequence_logprobs(logits: torch.Tensor, batch: dict[str, torch.Tensor],
                      vocab_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sums, counts)`` per document (index = ``doc_ids`` value, length ``len(seq_index)``):
    the summed target log-probs and the number of target tokens."""
    logp, doc = target_logprobs(logits, batch, vocab_size)
    return _per_doc(logp, doc, int(batch["seq_index"].shape[0]))


def model_sequence_logprobs(model: nn.Module, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """``sequence_logprobs`` straight from the model (head on target rows only)."""
    logp, doc = model_target_logprobs(model, batch)
    return _per_doc(logp, doc, int(batch["seq_index"].shape[0]))
