"""Per-token log-probabilities of the completion tokens of a GRPO micro-batch, ``[B, T-1]``.

A row is ``prompt + completion`` (right-padded); ``labels [B, T]`` marks the completion tokens (and
their closing eos). Position ``t`` of the result is ``log p(x_{t+1} | x_<=t)`` under
``softmax(logits / temperature)``, the distribution the tokens were sampled from (as TRL and
open-instruct's GRPO score them), 0 where ``labels[:, 1:]`` is False. As in
``open_instruct.logprobs``, the output head runs only on the target rows when it is a local
``nn.Linear`` (never materializing ``B x T x V`` logits); a sharded head gets full logits."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from olmo_core.distributed.parallelize import unwrap


def _forward(model: nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    return model(batch["input_ids"], doc_ids=batch["doc_ids"], position_ids=batch["position_ids"])


def _local_head(head: object) -> bool:
    if not isinstance(head, nn.Linear):
        return False
    from torch.distributed.tensor import DTensor

    return not isinstance(head.weight, DTensor)


def completion_logprobs(model: nn.Module, batch: dict[str, torch.Tensor], temperature: float = 1.0) -> torch.Tensor:
    targets = batch["labels"][:, 1:].bool()
    tokens = batch["input_ids"][:, 1:][targets]
    inner = unwrap(model)
    head, vocab = getattr(inner, "lm_head", None), getattr(inner, "vocab_size", None)
    if _local_head(head):
        inner.lm_head = nn.Identity()
        try:
            hidden = _forward(model, batch)
        finally:
            inner.lm_head = head
        logits = head(hidden[:, :-1][targets])
    else:
        logits = _forward(model, batch)[:, :-1][targets]
    if vocab is not None:
        logits = logits[:, :vocab]  # columns past the vocabulary are embedding padding
    logp = -F.cross_entropy(logits.float() / temperature, tokens, reduction="none")
    out = torch.zeros(targets.shape, dtype=logp.dtype, device=logp.device)
    return out.masked_scatter(targets, logp)
