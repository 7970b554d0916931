"""Text to token ids for scoring, with lm-evaluation-harness's context/continuation split.

Anything with ``encode(text) -> list[int]`` works; :func:`load_tokenizer` wraps a HF ``tokenizer.json``
(the ``tokenizers`` library, no transformers needed). No special tokens are added: OLMo's tokenizer
adds none, and neither does lm-eval's HF backend for log-likelihoods.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TextTokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...


class HFTokenizer:
    """A ``tokenizers.Tokenizer`` with batch encoding and no special tokens."""

    def __init__(self, tok: Any, eos_token_id: int | None = None) -> None:
        self.tok = tok
        self.eos_token_id = eos_token_id

    @classmethod
    def from_file(cls, path: str | Path) -> HFTokenizer:
        from tokenizers import Tokenizer

        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no tokenizer.json (pass --tokenizer PATH)")
        tok = Tokenizer.from_file(str(path))
        eos = tok.token_to_id("<|endoftext|>")
        return cls(tok, eos)

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text, add_special_tokens=False).ids

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]


def load_tokenizer(path: str | Path) -> HFTokenizer:
    return HFTokenizer.from_file(path)


def as_tokenizer(obj: Any) -> Any:
    """A path, a ``tokenizers.Tokenizer`` or anything with ``encode`` -> an object with ``encode``."""
    if isinstance(obj, (str, Path)):
        return load_tokenizer(obj)
    if type(obj).__module__.startswith("tokenizers") and hasattr(obj, "encode_batch"):
        return HFTokenizer(obj)
    if isinstance(obj, TextTokenizer):
        return obj
    raise TypeError(f"cannot use {type(obj).__name__} as a tokenizer: it needs encode(text) -> list[int]")


def encode_all(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Encode unique texts once (contexts repeat across choices), batched when the tokenizer can."""
    unique = list(dict.fromkeys(texts))
    if hasattr(tokenizer, "encode_batch"):
        encoded = tokenizer.encode_batch(unique)
    else:
        encoded = [list(tokenizer.encode(t)) for t in unique]
    table = dict(zip(unique, encoded))
    return [table[t] for t in texts]


def encode_pairs(tokenizer: Any, pairs: Sequence[tuple[str, str]], eos_token_id: int) -> list[tuple[list[int], list[int]]]:
    """lm-eval's ``_encode_pair``: trailing context whitespace moves to the continuation, the pair is
    encoded whole and the context's tokens are cut off the front; an empty context becomes ``[EOS]``."""
    contexts, wholes, conts = [], [], []
    for context, continuation in pairs:
        n = len(context) - len(context.rstrip())
        if n:
            context, continuation = context[:-n], context[-n:] + continuation
        contexts.append(context)
        wholes.append(context + continuation)
        conts.append(continuation)
    ctx_ids = encode_all(tokenizer, contexts)
    whole_ids = encode_all(tokenizer, wholes)
    out = []
    for ctx, whole, cont, c_ids in zip(contexts, whole_ids, conts, ctx_ids):
        if ctx == "":
            out.append(([eos_token_id], list(tokenizer.encode(cont))))
        else:
            out.append((list(c_ids), list(whole[len(c_ids):])))
    return out
