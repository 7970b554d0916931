"""Log-likelihood of continuations given contexts: the only place a model is run.

* Requests are packed into rows: a row is one input sequence; requests whose inputs are identical
  share it. A single-token continuation's input is just its context, so the choices of a lettered
  question (" A", " B", ...) cost one forward together.
* Rows are sorted longest first (ties by first request) and cut into batches holding at most
  ``token_budget`` padded tokens, so the order, and thus every number, is deterministic.
* Log-softmax runs only on the positions that predict continuation tokens, in float32, over the
  model's real vocabulary (padded embedding rows are ignored). A model that also offers
  ``hidden_states(input_ids) -> [B, T, D]`` and ``logits_from_hidden(h [N, D]) -> [N, V]`` (the HF
  adapter does) is projected onto the vocabulary only at those positions too.
* An input longer than the model's window keeps its last ``max_sequence_length`` tokens.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from olmo_eval.interfaces import InterfaceError


@dataclass(frozen=True)
class TokenRequest:
    context: Sequence[int]
    continuation: Sequence[int]


@dataclass
class Scores:
    """Per request, in request order: summed log-prob (nats), whether every continuation token was
    the argmax, and how many continuation tokens were scored."""

    logprob: np.ndarray
    greedy: np.ndarray
    num_tokens: np.ndarray


def default_token_budget(device: torch.device) -> int:
    # Logits dominate memory: budget * vocab * 4 bytes (about 0.8 GB at 4096 x 50k on CPU).
    return 32768 if device.type == "cuda" else 4096


def model_device(model: object) -> torch.device:
    try:
        return next(iter(model.parameters())).device  # type: ignore[attr-defined]
    except (AttributeError, StopIteration):
        return torch.device("cpu")


def _rows(requests: Sequence[TokenRequest], max_len: int):
    """``rows[key] = [(request, start, targets)]`` with ``key`` the input ids."""
    rows: dict[tuple[int, ...], list[tuple[int, int, list[int]]]] = {}
    for i, r in enumerate(requests):
        cont = list(r.continuation)
        if not cont:
            raise ValueError(f"request {i}: empty continuation")
        if not r.context:
            raise ValueError(f"request {i}: empty context (put a BOS/EOS token first)")
        full = list(r.context) + cont
        if len(full) > max_len + 1:
            full = full[-(max_len + 1):]
        inp = tuple(full[:-1])
        k = min(len(cont), len(inp))
        rows.setdefault(inp, []).append((i, len(inp) - k, full[-k:]))
    return rows


@torch.no_grad()
def score_requests(model: object, requests: Sequence[TokenRequest], *, token_budget: int | None = None,
                   max_batch_size: int = 512, pad_id: int | None = None,
                   progress: Callable[[int], None] | None = None) -> Scores:
    """Score every request with ``model`` (anything meeting :class:`olmo_eval.interfaces.LanguageModel`)."""
    n = len(requests)
    logprob = np.zeros(n, dtype=np.float64)
    greedy = np.ones(n, dtype=bool)
    num_tokens = np.zeros(n, dtype=np.int64)
    if n == 0:
        return Scores(logprob, greedy, num_tokens)
    device = model_device(model)
    budget = token_budget or default_token_budget(device)
    max_len = int(model.max_sequence_length)  # type: ignore[attr-defined]
    vocab = int(model.vocab_size)  # type: ignore[attr-defined]
    pad = int(model.eos_token_id if pad_id is None else pad_id)  # type: ignore[attr-defined]
    fast = callable(getattr(model, "hidden_states", None)) and callable(getattr(model, "logits_from_hidden", None))
    rows = _rows(requests, max_len)
    order = sorted(rows, key=lambda key: (-len(key), rows[key][0][0]))

    start = 0
    while start < len(order):
        width = len(order[start])
        size = max(1, min(max_batch_size, budget // max(width, 1)))
        batch = order[start:start + size]
        start += len(batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        b_idx, t_idx, tgt, owner = [], [], [], []
        for b, key in enumerate(batch):
            ids[b, : len(key)] = torch.tensor(key, dtype=torch.long)
            for req, first, targets in rows[key]:
                b_idx.extend([b] * len(targets))
                t_idx.extend(range(first, first + len(targets)))
                tgt.extend(targets)
                owner.extend([req] * len(targets))
        bi = torch.tensor(b_idx, device=device)
        ti = torch.tensor(t_idx, device=device)
        target = torch.tensor(tgt, device=device)
        if fast:
            hidden = model.hidden_states(ids.to(device))  # type: ignore[attr-defined]
            picked = model.logits_from_hidden(hidden[bi, ti])[:, :vocab].float()  # type: ignore[attr-defined]
        else:
            logits = model(ids.to(device))  # type: ignore[operator]
            if logits.dim() != 3 or logits.shape[:2] != ids.shape or logits.shape[-1] < vocab:
                raise InterfaceError(f"model returned logits of shape {tuple(logits.shape)} for input "
                                     f"{tuple(ids.shape)} (need [B, T, >= {vocab}])")
            picked = logits[bi, ti, :vocab].float()
        token_lp = torch.log_softmax(picked, dim=-1).gather(1, target[:, None])[:, 0]
        is_max = picked.argmax(dim=-1) == target
        owners = np.asarray(owner, dtype=np.int64)
        np.add.at(logprob, owners, token_lp.double().cpu().numpy())
        np.logical_and.at(greedy, owners, is_max.cpu().numpy())
        np.add.at(num_tokens, owners, 1)
        if progress is not None:
            progress(sum(len(rows[key]) for key in batch))
    return Scores(logprob, greedy, num_tokens)
