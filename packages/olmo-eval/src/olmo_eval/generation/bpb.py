"""Bits per byte of a gold continuation: ``-sum log2 p(continuation tokens | context)`` divided by
the continuation's UTF-8 bytes. Cheap (one forward), and it moves for models far too small to get
a single generated answer right."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch


def split_pair(codec: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's split: trailing context whitespace joins the continuation, the pair is encoded
    whole and the context's tokens are taken off the front."""
    n = len(context) - len(context.rstrip())
    if n:
        context, continuation = context[:-n], context[-n:] + continuation
    ctx = list(codec.encode(context))
    whole = list(codec.encode(context + continuation))
    if whole[: len(ctx)] == ctx and len(whole) > len(ctx):
        return ctx, whole[len(ctx):]
    return ctx, list(codec.encode(continuation))


@torch.no_grad()
def bits_per_byte(model: Any, codec: Any, pairs: Sequence[tuple[str, str]]) -> list[float | None]:
    """One value per ``(context, continuation)``; None for an empty continuation. Inputs longer
    than the model's window keep their last tokens (the continuation is always scored whole when
    it fits)."""
    try:
        device = next(iter(model.parameters())).device
    except (AttributeError, StopIteration, TypeError):
        device = torch.device("cpu")
    max_len = int(getattr(model, "max_sequence_length", 2048))
    vocab = int(model.vocab_size)
    out: list[float | None] = []
    for context, continuation in pairs:
        nbytes = len(continuation.encode("utf-8"))
        ctx, cont = split_pair(codec, context, continuation)
        if not cont or nbytes == 0:
            out.append(None)
            continue
        if not ctx:
            ctx = [int(model.eos_token_id)]
        ids = (ctx + cont)[-(max_len + 1):]
        n = min(len(cont), len(ids) - 1)
        inp = torch.tensor([ids[:-1]], device=device)
        logits = model(inp)[0, -n:, :vocab].float()
        targets = torch.tensor(ids[-n:], device=device)
        nll = -torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None]).sum().item()
        out.append(nll / math.log(2) / nbytes)
    return out
