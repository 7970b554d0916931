"""Log-probabilities of target tokens, summed per document of a (packed) micro-batch."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def forward(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Logits for a collated micro-batch, with per-document attention and restarting positions."""
    return model(batch["input_ids"], doc_ids=batch["doc_ids"], position_ids=batch["position_ids"])


def target_logprobs(logits: torch.Tensor, batch: dict[str, torch.Tensor],
                    vocab_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(logp, doc)``: log p(x_t | x_<t) for every target token t (1-D, float32), and its document.

    Only target rows of the logits are upcast and normalised, so memory scales with the number of
    targets, not with B x T x V. Columns past ``vocab_size`` (embedding padding) are dropped."""
    targets = batch["labels"][:, 1:]
    logits = logits[:, :-1][targets]
    if vocab_size is not None:
        logits = logits[:, :vocab_size]
    tokens = batch["input_ids"][:, 1:][targets]
    logp = -F.cross_entropy(logits.float(), tokens, reduction="none")
    return logp, batch["doc_ids"][:, 1:][targets]


def sequence_logprobs(logits: torch.Tensor, batch: dict[str, torch.Tensor],
                      vocab_size: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(sums, counts)`` per document (index = ``doc_ids`` value, length ``len(seq_index)``):
    the summed target log-probs and the number of target tokens."""
    logp, doc = target_logprobs(logits, batch, vocab_size)
    n = int(batch["seq_index"].shape[0])
    sums = torch.zeros(n, dtype=torch.float32, device=logp.device).index_add(0, doc, logp)
    counts = torch.zeros(n, dtype=torch.int64, device=logp.device).index_add(0, doc, torch.ones_like(doc))
    return sums, counts
