"""``generate_until`` requests: prompt text in, generated text out, cut at the first stop sequence.

Requests are grouped by their sampling settings, sorted by prompt length within a group (less
padding, and the same batches every run), and sent ``batch_size`` at a time to a
:class:`~olmo_eval.interfaces.GenerativeLanguageModel`. Stop sequences are checked on the decoded
text, which is what defines them; their token ids are also passed to the model so that a row can
stop early (a token-level match always implies a text match, never the other way round).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GenerateUntil:
    prompt: str
    stop_sequences: tuple[str, ...] = ()
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None


def cut_at_stop(text: str, stop_sequences: Sequence[str]) -> str:
    """``text`` up to (not including) the earliest stop sequence."""
    end = len(text)
    for stop in stop_sequences:
        if stop:
            i = text.find(stop)
            if 0 <= i < end:
                end = i
    return text[:end]


def generate_until(model: Any, tokenizer: Any, requests: Sequence[GenerateUntil], *, batch_size: int = 8,
                   on_batch: Callable[[int], None] | None = None) -> list[str]:
    """Generated text for each request, in request order. ``tokenizer`` has ``encode`` and
    ``decode``. Prompts longer than the model's window keep their last tokens."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    eos = getattr(model, "eos_token_id", None)
    max_len = getattr(model, "max_sequence_length", None)
    groups: dict[tuple, list[int]] = defaultdict(list)
    encoded = [list(tokenizer.encode(r.prompt)) for r in requests]
    for i, r in enumerate(requests):
        groups[(r.max_new_tokens, r.temperature, r.top_p, r.seed, r.stop_sequences)].append(i)
    out: list[str | None] = [None] * len(requests)
    for (max_new, temperature, top_p, seed, stops), members in groups.items():
        members.sort(key=lambda i: (-len(encoded[i]), i))
        stop_ids = [ids for ids in (list(tokenizer.encode(s)) for s in stops) if ids]
        for start in range(0, len(members), batch_size):
            batch = members[start:start + batch_size]
            prompts = []
            for i in batch:
                ids = encoded[i]
                if max_len is not None and len(ids) + max_new > max_len:
                    keep = max(1, max_len - max_new)
                    ids = ids[-keep:]
                prompts.append(ids)
            new_ids = model.generate(prompts, max_new, stop_sequences_ids=stop_ids or None,
                                     temperature=temperature, top_p=top_p, seed=seed)
            for i, ids in zip(batch, new_ids):
                ids = list(ids)
                if eos is not None and eos in ids:
                    ids = ids[: ids.index(eos)]
                out[i] = cut_at_stop(tokenizer.decode(ids), stops)
            if on_batch is not None:
                on_batch(len(batch))
    return [o if o is not None else "" for o in out]
