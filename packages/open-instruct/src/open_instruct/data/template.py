"""Chat templates: messages -> token ids and a mask of the tokens to train on.

The Tulu template as OLMo's instruct models use it::

    <|endoftext|><|user|>
    {user}
    <|assistant|>
    {assistant}<|endoftext|>

* OLMo's tokenizer has no BOS token, so (as open-instruct's ``--add_bos`` for OLMo and the
  ``{{ eos_token }}`` at the start of OLMo-7B-Instruct's chat template do) one ``<|endoftext|>`` is
  put in front of every conversation. It also makes the first real token predictable from something,
  and in a packed row it separates this conversation from the previous one. It is never trained on.
* Each assistant turn ends in ``<|endoftext|>``; a following turn is separated by ``\\n``
  (the Tulu template), which is not trained on.
* Only assistant content and its closing ``<|endoftext|>`` are trained on; the ``<|assistant|>\\n``
  header belongs to the prompt, as it does at generation time.

Each piece is tokenized on its own and the ids are concatenated, so a turn boundary is always a
token boundary and the mask is exact; ``check_labels`` then proves it by decoding.
Templates live in a registry (``@register_template``) so another format is one class away.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from open_instruct.interfaces import DataFormatError, Message
from open_instruct.tokenizer import ChatTokenizer

TEMPLATES: dict[str, type[ChatTemplate]] = {}


def register_template(name: str) -> Callable[[type[ChatTemplate]], type[ChatTemplate]]:
    def wrap(cls: type[ChatTemplate]) -> type[ChatTemplate]:
        cls.name = name
        TEMPLATES[name] = cls
        return cls
    return wrap


def get_template(name: str) -> ChatTemplate:
    if name not in TEMPLATES:
        raise KeyError(f"unknown chat template {name!r}; known: {sorted(TEMPLATES)}")
    return TEMPLATES[name]()


@dataclass
class Encoded:
    """One tokenized conversation: ``labels[t]`` is True when token ``t`` is a training target
    (predicted from the tokens before it)."""

    input_ids: np.ndarray  # int32 [L]
    labels: np.ndarray  # bool [L]

    def __len__(self) -> int:
        return int(self.input_ids.shape[0])

    @property
    def num_targets(self) -> int:
        return int(self.labels.sum())


# A piece is text or a special token id, whether it is trained on, and the index of its message
# (-1 for pieces that belong to no message).
Piece = tuple[str | int, bool, int]


class ChatTemplate:
    name = "base"
    version = 1

    def pieces(self, messages: Sequence[Message], *, add_generation_prompt: bool = False,
               eos: int = 0) -> list[Piece]:
        raise NotImplementedError

    def render(self, messages: Sequence[Message], tokenizer: ChatTokenizer, *,
               add_generation_prompt: bool = False) -> str:
        return "".join(p if isinstance(p, str) else tokenizer.decode([p])
                       for p, _, _ in self.pieces(messages, add_generation_prompt=add_generation_prompt,
                                               eos=tokenizer.eos_token_id))

    def encode(self, messages: Sequence[Message], tokenizer: ChatTokenizer, *,
               add_generation_prompt: bool = False, train_from: int | None = 0,
               where: str | None = None) -> Encoded:
        """Token ids and the training mask: every assistant turn from message ``train_from`` on is
        trained on (``0``: all of them, as in SFT; ``len(prompt)``: a DPO completion; ``None``:
        nothing, for prompts)."""
        pieces = self.pieces(messages, add_generation_prompt=add_generation_prompt, eos=tokenizer.eos_token_id)
        keep = {i for i, (_, trained, turn) in enumerate(pieces)
                if trained and train_from is not None and turn >= train_from}
        texts = [p for p, _, _ in pieces if isinstance(p, str)]
        encoded = iter(tokenizer.encode_batch(texts)) if texts else iter(())
        ids: list[int] = []
        mask: list[bool] = []
        for i, (piece, _, _) in enumerate(pieces):
            part = next(encoded) if isinstance(piece, str) else [piece]
            ids.extend(part)
            mask.extend([i in keep] * len(part))
        out = Encoded(np.asarray(ids, dtype=np.int32), np.asarray(mask, dtype=bool))
        if train_from is not None:
            self.check_labels(out, messages, tokenizer, train_from=train_from, where=where)
        return out

    def check_labels(self, enc: Encoded, messages: Sequence[Message], tokenizer: ChatTokenizer, *,
                     train_from: int = 0, where: str | None = None) -> None:
        """The trained tokens, run by run, must decode to exactly the assistant contents (each
        followed by the end-of-turn token); anything else means the mask is wrong."""
        turns = [m.content for m in messages[train_from:] if m.role == "assistant"]
        expected = [unicodedata.normalize("NFC", t) + tokenizer.eos_token for t in turns]
        got = [tokenizer.decode(enc.input_ids[a:b].tolist()) for a, b in _runs(enc.labels)]
        if not got:
            raise DataFormatError("no tokens to train on (no assistant content after templating)",
                                  where=where, field="messages")
        if got != expected:
            raise DataFormatError(f"trained tokens decode to {got!r}, expected the assistant turns "
                                  f"{expected!r}", where=where, field="messages")


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Maximal [start, end) runs of True."""
    padded = np.concatenate([[False], mask.astype(bool), [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


@register_template("tulu")
class TuluTemplate(ChatTemplate):
    """``<|endoftext|>`` + ``<|system|>\\n..\\n`` / ``<|user|>\\n..\\n`` /
    ``<|assistant|>\\n..<|endoftext|>`` (+ ``\\n`` between turns)."""

    version = 1
    headers = {"system": "<|system|>\n", "user": "<|user|>\n", "assistant": "<|assistant|>\n"}

    def pieces(self, messages: Sequence[Message], *, add_generation_prompt: bool = False,
               eos: int = 0) -> list[Piece]:
        out: list[Piece] = [(eos, False, -1)]
        for i, m in enumerate(messages):
            if m.role == "assistant":
                out += [(self.headers["assistant"], False, i), (m.content, True, i), (eos, True, i)]
                if i < len(messages) - 1:
                    out.append(("\n", False, i))
            else:
                out.append((self.headers[m.role] + m.content + "\n", False, i))
        if add_generation_prompt:
            out.append((self.headers["assistant"], False, len(messages)))
        return [p for p in out if p[0] != ""]


def prompt_messages(messages: Sequence[Message]) -> list[Message]:
    """The turns before the first assistant turn: a task example's prompt (its gold answer, if
    written as an assistant turn, is not part of it)."""
    end = next((i for i, m in enumerate(messages) if m.role == "assistant"), len(messages))
    return list(messages[:end])


def encode_prompt(tokenizer: ChatTokenizer, messages: Sequence[Message], template: str = "tulu") -> list[int]:
    """Token ids of a generation prompt: the turns before the first assistant turn, then the
    assistant header (``<|assistant|>\\n`` for ``tulu``), as the model sees them at generation time."""
    enc = get_template(template).encode(prompt_messages(messages), tokenizer, add_generation_prompt=True,
                                        train_from=None)
    return enc.input_ids.tolist()
