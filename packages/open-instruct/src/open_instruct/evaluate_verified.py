"""Verified accuracy: greedy answers to task prompts, judged by each example's verifier.

An example is a procedural task record (``open_instruct.tasks``): its ``messages`` up to the first
assistant turn are the prompt, encoded with the Tulu template up to and including
``<|assistant|>\\n``; the model continues greedily (olmo-core's KV-cache ``generate``) until eos or
``max_new_tokens``; ``open_instruct.tasks.check_response`` judges the decoded text. Left padding in a
batch does not change an answer (``generate`` masks it), so the batch size changes only the speed.
The held-out callback, on-policy sampling and the demo all use these functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from olmo_core.distributed.parallelize import unwrap
from olmo_core.generate import generate
from open_instruct.data.template import encode_prompt
from open_instruct.interfaces import parse_messages
from open_instruct.tokenizer import ChatTokenizer


def greedy_responses(model: torch.nn.Module, tokenizer: ChatTokenizer, examples: Sequence[Mapping[str, Any]], *,
                     max_new_tokens: int = 32, batch_size: int = 32, template: str = "tulu") -> list[str]:
    """The model's greedy answer to each example's prompt (decoded, eos not included)."""
    if batch_size <= 0:
        raise ValueError(f"batch_size={batch_size} must be positive")
    prompts = [encode_prompt(tokenizer, parse_messages(ex["messages"], where=str(ex.get("id", ""))), template)
               for ex in examples]
    inner = unwrap(model)
    was_training = inner.training
    inner.eval()
    out: list[str] = []
    try:
        with torch.no_grad():
            for i in range(0, len(prompts), batch_size):
                ids = generate(inner, prompts[i:i + batch_size], max_new_tokens, temperature=0.0,
                               eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
                out.extend(tokenizer.decode(t) for t in ids)
    finally:
        inner.train(was_training)
    return out


def judge(examples: Sequence[Mapping[str, Any]], responses: Sequence[str]) -> list[bool]:
    """Each response judged by its example's verifier (``open_instruct.tasks.check_response``)."""
    from open_instruct.tasks import check_response

    if len(examples) != len(responses):
        raise ValueError(f"{len(examples)} examples but {len(responses)} responses")
    return [bool(check_response(dict(ex), r).correct) for ex, r in zip(examples, responses)]


def verified_accuracy(model: torch.nn.Module, tokenizer: ChatTokenizer, examples: Sequence[Mapping[str, Any]], *,
                      max_new_tokens: int = 32, batch_size: int = 32) -> list[bool]:
    """Per example: is the model's greedy answer verified correct? (paired across models by index)"""
    return judge(examples, greedy_responses(model, tokenizer, examples, max_new_tokens=max_new_tokens,
                                            batch_size=batch_size))


def accuracy_by_family(examples: Sequence[Mapping[str, Any]], correct: Sequence[bool]) -> dict[str, Any]:
    """``{"accuracy": overall, "examples": n, "families": {family: {"accuracy", "examples"}}}``."""
    fams: dict[str, list[bool]] = {}
    for ex, ok in zip(examples, correct, strict=True):
        fams.setdefault(str(ex.get("family", "all")), []).append(bool(ok))
    n = len(correct)
    return {"accuracy": sum(map(bool, correct)) / n if n else 0.0, "examples": n,
            "families": {f: {"accuracy": sum(v) / len(v), "examples": len(v)} for f, v in sorted(fams.items())}}
