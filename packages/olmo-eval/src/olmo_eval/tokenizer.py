"""Text to token ids and back: the one tokenizer wrapper and its loaders, with lm-evaluation-harness's
context/continuation split.

:class:`Tokenizer` wraps a HF ``tokenizer.json`` (the ``tokenizers`` library, no transformers needed)
or a transformers tokenizer; scoring needs only ``encode(text) -> list[int]``, so any object with that
method works there too. No special tokens are added: OLMo's tokenizer adds none, and neither does
lm-eval's HF backend for log-likelihoods.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

#: the end-of-text token of OLMo's (GPT-NeoX) tokenizer, used as EOS when a tokenizer names one
EOS_TOKEN = "<|endoftext|>"


@runtime_checkable
class TextTokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...


class Tokenizer:
    """``encode`` (no special tokens), ``encode_batch`` and ``decode`` over a ``tokenizers.Tokenizer``
    or a transformers tokenizer; ``eos_token_id`` is the id of ``<|endoftext|>`` when it has one."""

    def __init__(self, tok: Any, eos_token_id: int | None = None) -> None:
        self.tok = tok
        self._fast = type(tok).__module__.startswith("tokenizers")
        if eos_token_id is None and self._fast:
            eos_token_id = tok.token_to_id(EOS_TOKEN)
        self.eos_token_id = eos_token_id

    @classmethod
    def from_file(cls, path: str | Path) -> Tokenizer:
        from tokenizers import Tokenizer as HFTokenizers

        path = Path(path)
        if path.is_dir():
            path = path / "tokenizer.json"
        if not path.exists():
            raise FileNotFoundError(f"{path}: no tokenizer.json (pass --tokenizer PATH)")
        return cls(HFTokenizers.from_file(str(path)))

    def encode(self, text: str) -> list[int]:
        if self._fast:
            return self.tok.encode(text, add_special_tokens=False).ids
        try:
            return list(self.tok.encode(text, add_special_tokens=False))
        except TypeError:
            return list(self.tok.encode(text))

    def encode_batch(self, texts: Sequence[str]) -> list[list[int]]:
        if self._fast:
            return [e.ids for e in self.tok.encode_batch(list(texts), add_special_tokens=False)]
        return [self.encode(t) for t in texts]

    def decode(self, ids: Sequence[int]) -> str:
        if self._fast or hasattr(self.tok, "convert_ids_to_tokens"):
            return self.tok.decode(list(ids), skip_special_tokens=False)
        return self.tok.decode(list(ids))


def load_tokenizer(path: str | Path) -> Tokenizer:
    """A ``tokenizer.json`` file, or a folder holding one."""
    return Tokenizer.from_file(path)


def tokenizer_for_model(folder: str | Path, tokenizer: str | Path | None = None) -> Tokenizer:
    """``tokenizer`` when given, else the model folder's ``tokenizer.json``, else olmo-core's OLMo
    tokenizer (extra ``olmo-core``)."""
    if tokenizer is not None:
        return load_tokenizer(tokenizer)
    folder = Path(folder)
    if (folder / "tokenizer.json").exists():
        return load_tokenizer(folder)
    try:
        from olmo_core.tokenizer import load_olmo_tokenizer
    except ImportError as e:
        raise FileNotFoundError(f"{folder}: no tokenizer.json and olmo-core's tokenizer is unavailable; "
                                "pass --tokenizer PATH") from e
    return Tokenizer(load_olmo_tokenizer())


def as_tokenizer(obj: Any) -> Any:
    """A path, a ``tokenizers.Tokenizer``, a transformers tokenizer or anything with ``encode`` ->
    an object with ``encode`` (a :class:`Tokenizer` unless it already had one of its own)."""
    if isinstance(obj, Tokenizer):
        return obj
    if isinstance(obj, (str, Path)):
        return load_tokenizer(obj)
    if type(obj).__module__.startswith("tokenizers") or hasattr(obj, "convert_ids_to_tokens"):
        return Tokenizer(obj)
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


def move_trailing_space(context: str, continuation: str) -> tuple[str, str]:
    """lm-eval's rule: trailing whitespace of the context belongs to the continuation."""
    n = len(context) - len(context.rstrip())
    if n:
        return context[:-n], context[-n:] + continuation
    return context, continuation


def encode_pairs(tokenizer: Any, pairs: Sequence[tuple[str, str]], eos_token_id: int) -> list[tuple[list[int], list[int]]]:
    """lm-eval's ``_encode_pair``: trailing context whitespace moves to the continuation, the pair is
    encoded whole and the context's tokens are cut off the front; an empty context becomes ``[EOS]``."""
    contexts, wholes, conts = [], [], []
    for context, continuation in pairs:
        context, continuation = move_trailing_space(context, continuation)
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


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """One pair split as :func:`encode_pairs` does, except that the continuation is encoded alone when
    the whole does not start with the context's tokens (and an empty context stays empty)."""
    context, continuation = move_trailing_space(context, continuation)
    ctx = list(tokenizer.encode(context))
    whole = list(tokenizer.encode(context + continuation))
    if whole[: len(ctx)] == ctx and len(whole) > len(ctx):
        return ctx, whole[len(ctx):]
    return ctx, list(tokenizer.encode(continuation))
