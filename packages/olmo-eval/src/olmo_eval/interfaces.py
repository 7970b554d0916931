"""The contract olmo-eval owns: what it scores.

Anything with these attributes and this call signature can be evaluated, whatever trained it: an
olmo-core model, a wrapped HF transformers model, or a test double. olmo-eval never imports the
trainer; olmo-core's ``OLMo`` meets this protocol structurally. See ``docs/interfaces.md``.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

LANGUAGE_MODEL_INTERFACE_VERSION = 1


class InterfaceError(ValueError):
    """A model does not meet the LanguageModel contract; the message says which part."""


@runtime_checkable
class LanguageModel(Protocol):
    """``input_ids [B, T] (int64) -> logits [B, T, V]`` where ``V >= vocab_size`` (embeddings may be
    padded), for ``T <= max_sequence_length``. Position ``t`` of the logits predicts token ``t + 1``."""

    vocab_size: int
    max_sequence_length: int
    eos_token_id: int

    def __call__(self, input_ids: torch.Tensor) -> torch.Tensor: ...


def check_language_model(model: Any) -> None:
    """Raise :class:`InterfaceError` unless ``model`` meets :class:`LanguageModel` on a 1x2 input."""
    for name in ("vocab_size", "max_sequence_length", "eos_token_id"):
        value = getattr(model, name, None)
        if not isinstance(value, int) or isinstance(value, bool):
            raise InterfaceError(f"{type(model).__name__}: attribute {name!r} must be an int, got {value!r}")
    try:
        device = next(iter(model.parameters())).device
    except (AttributeError, StopIteration):
        device = torch.device("cpu")
    ids = torch.tensor([[model.eos_token_id, 0]], dtype=torch.long, device=device)
    with torch.no_grad():
        logits = model(ids)
    if not isinstance(logits, torch.Tensor) or logits.dim() != 3 or tuple(logits.shape[:2]) != (1, 2):
        got = tuple(logits.shape) if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise InterfaceError(f"{type(model).__name__}: expected logits of shape [1, 2, V], got {got}")
    if logits.shape[-1] < model.vocab_size:
        raise InterfaceError(f"{type(model).__name__}: logits have {logits.shape[-1]} entries, "
                             f"fewer than vocab_size={model.vocab_size}")


@runtime_checkable
class GenerativeLanguageModel(Protocol):
    """Optional extension of :class:`LanguageModel` for generation-based tasks (``generate_until``).

    ``generate`` continues each prompt (token ids, no padding) by at most ``max_new_tokens`` and
    returns only the new ids of each prompt, stopping at ``eos_token_id`` (which may or may not be
    included: callers cut there) or once a row ends with one of ``stop_sequences_ids``. ``temperature == 0`` is greedy; otherwise nucleus sampling with
    ``top_p``, reproducible for a given ``seed``. Batching, padding and caching are the model's
    business: olmo-eval wraps olmo-core's KV-cache ``generate`` and transformers' ``generate``
    (``olmo_eval.models``)."""

    eos_token_id: int

    def generate(self, prompts: list[list[int]], max_new_tokens: int, *,
                 stop_sequences_ids: list[list[int]] | None = None, temperature: float = 0.0,
                 top_p: float = 1.0, seed: int | None = None) -> list[list[int]]: ...
