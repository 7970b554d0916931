"""Batched autoregressive generation for demos, evaluation and adaptation: greedy or sampled
(temperature, top-p), with a KV cache, left padding and stopping at eos or stop sequences.

Left padding is handled with the model's own per-document masking: padding is document 0 and the
prompt document 1, so real tokens never attend to padding, and positions count from each prompt's
first real token. A padded batch therefore decodes as each prompt would alone."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from olmo_core.model.kv_cache import KVCache


def _top_p_filter(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Keep the smallest set of most likely tokens whose mass reaches ``top_p``, renormalized."""
    sorted_probs, order = probs.sort(dim=-1, descending=True)
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    sorted_probs = sorted_probs.masked_fill(mass_before >= top_p, 0.0)
    filtered = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return filtered / filtered.sum(dim=-1, keepdim=True)


def next_tokens(logits: torch.Tensor, *, temperature: float, top_p: float,
                generator: torch.Generator | None) -> torch.Tensor:
    """``logits [B, V]`` (float) -> token ids ``[B]``."""
    if temperature <= 0.0:
        return logits.argmax(dim=-1)
    probs = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        probs = _top_p_filter(probs, top_p)
    return torch.multinomial(probs, 1, generator=generator).squeeze(-1)


def _ends_with(seq: list[int], stops: Sequence[Sequence[int]]) -> int:
    """Length of the stop sequence ``seq`` ends with, else 0."""
    for stop in stops:
        if stop and len(seq) >= len(stop) and seq[-len(stop):] == list(stop):
            return len(stop)
    return 0


@torch.no_grad()
def generate(model: nn.Module, prompts: list[list[int]], max_new_tokens: int, *, temperature: float = 0.0,
             top_p: float = 1.0, eos_token_id: int | None = None,
             stop_sequences_ids: Sequence[Sequence[int]] | None = None, seed: int | None = None,
             pad_token_id: int = 1, use_cache: bool = True) -> list[list[int]]:
    """Continue each prompt (token ids) by up to ``max_new_tokens`` tokens.

    Returns only the new tokens of each prompt, cut before the first ``eos_token_id`` (default: the
    model's) and before the first of ``stop_sequences_ids`` to appear. ``temperature=0`` is greedy;
    otherwise sampling from ``softmax(logits / temperature)`` restricted to the top-``top_p`` mass,
    reproducible with ``seed``. ``use_cache=False`` recomputes the whole sequence each step (same
    tokens, slower; kept as the reference the cache is tested against)."""
    if not prompts:
        return []
    if any(len(p) == 0 for p in prompts):
        raise ValueError("generate: every prompt needs at least one token")
    if max_new_tokens <= 0:
        return [[] for _ in prompts]
    if not 0.0 < top_p <= 1.0:
        raise ValueError(f"generate: top_p={top_p} must be in (0, 1]")
    eos = getattr(model, "eos_token_id", None) if eos_token_id is None else eos_token_id
    stops = [list(s) for s in (stop_sequences_ids or []) if len(s)]
    vocab = int(model.vocab_size)
    device = next(model.parameters()).device
    b, width = len(prompts), max(len(p) for p in prompts)
    total = width + max_new_tokens
    limit = getattr(model, "max_sequence_length", None)
    if limit is not None and total > limit:
        raise ValueError(f"generate: longest prompt ({width}) + max_new_tokens ({max_new_tokens}) = {total} "
                         f"exceeds the model's max_sequence_length {limit}")
    generator = None
    if seed is not None:
        generator = torch.Generator(device=device).manual_seed(int(seed))

    ids = torch.full((b, total), pad_token_id, dtype=torch.long, device=device)
    doc_ids = torch.zeros((b, total), dtype=torch.long, device=device)
    for i, p in enumerate(prompts):
        ids[i, width - len(p):width] = torch.tensor(p, dtype=torch.long, device=device)
        doc_ids[i, width - len(p):] = 1
    positions = (doc_ids.cumsum(dim=1) - 1).clamp(min=0)

    cache = KVCache.for_model(model, b, total) if use_cache else None
    out: list[list[int]] = [[] for _ in prompts]
    done = [False] * b
    length = width
    for _ in range(max_new_tokens):
        if cache is None:
            logits = model(ids[:, :length], doc_ids=doc_ids[:, :length], position_ids=positions[:, :length],
                           logits_to_keep=1)
        else:
            start = cache.length
            logits = model(ids[:, start:length], doc_ids=doc_ids[:, start:length],
                           position_ids=positions[:, start:length], kv_cache=cache, logits_to_keep=1)
        tokens = next_tokens(logits[:, -1, :vocab].float(), temperature=temperature, top_p=top_p,
                             generator=generator)
        ids[:, length] = tokens
        length += 1
        for i, tok in enumerate(tokens.tolist()):
            if done[i]:
                continue
            if eos is not None and tok == eos:
                done[i] = True
                continue
            out[i].append(tok)
            cut = _ends_with(out[i], stops)
            if cut:
                del out[i][-cut:]
                done[i] = True
        if all(done):
            break
    return out
