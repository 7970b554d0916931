"""k sampled responses per task prompt from a model, with olmo-core's KV-cache generation.

Prompts are encoded with the chat template up to and including ``<|assistant|>\\n`` (what the model
sees at generation time, as in training); a response stops at eos. The (prompt, sample) sequences are
laid out prompt-major and cut into batches of ``batch_size``; batch ``b`` samples with the seed
``(seed, b)``, so the same model, prompts and settings give the same responses."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import torch

from open_instruct.data.template import encode_prompt
from open_instruct.interfaces import parse_messages
from open_instruct.tokenizer import ChatTokenizer


def batch_seed(seed: int, batch: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{seed}:{batch}".encode()).digest()[:7], "little")


def sample_responses(model: torch.nn.Module, tokenizer: ChatTokenizer, examples: Sequence[dict[str, Any]], k: int, *,
                     temperature: float, top_p: float = 1.0, max_new_tokens: int, seed: int, batch_size: int = 64,
                     template: str = "tulu", progress: Callable[[int, int], None] | None = None) -> list[list[str]]:
    """``k`` responses per example (``k`` lists of text, in example order)."""
    from olmo_core.generate import generate

    if k < 1:
        raise ValueError(f"samples per prompt k={k}: must be at least 1")
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}: sampling k responses needs a temperature > 0")
    prompts = [encode_prompt(tokenizer, parse_messages(ex["messages"], where=str(ex.get("id", ""))), template)
               for ex in examples]
    flat = [p for p in prompts for _ in range(k)]
    was_training = model.training
    model.eval()
    texts: list[str] = []
    try:
        for b, start in enumerate(range(0, len(flat), batch_size)):
            out = generate(model, flat[start:start + batch_size], max_new_tokens, temperature=temperature,
                           top_p=top_p, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                           seed=batch_seed(seed, b))
            texts += [tokenizer.decode(ids) for ids in out]
            if progress is not None:
                progress(min(start + batch_size, len(flat)), len(flat))
    finally:
        model.train(was_training)
    return [texts[i * k:(i + 1) * k] for i in range(len(examples))]
