"""generate_until: order kept, stop sequences cut on text, eos cut, prompts truncated on the left."""

from __future__ import annotations

import math

import pytest
import torch

from olmo_eval.generation.bpb import bits_per_byte
from olmo_eval.generation.requests import GenerateUntil, cut_at_stop, generate_until


class CharCodec:
    """One token per character (ids = code points), so texts and ids map by hand."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) for c in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(chr(i) for i in ids)


class Scripted:
    """Answers each prompt with a fixed text (then eos), recording the batches it was given."""

    eos_token_id = 0
    vocab_size = 256
    max_sequence_length = 64

    def __init__(self, answers: dict[str, str]) -> None:
        self.answers = answers
        self.calls: list[list[str]] = []

    def generate(self, prompts, max_new_tokens, *, stop_sequences_ids=None, temperature=0.0, top_p=1.0, seed=None):
        texts = ["".join(chr(i) for i in p) for p in prompts]
        self.calls.append(texts)
        return [([ord(c) for c in self.answers[t.split("|")[-1]]] + [0, 65, 66])[:max_new_tokens] for t in texts]


def test_cut_at_stop() -> None:
    assert cut_at_stop("abc\n\nQuestion: x", ["Question:", "\n\n"]) == "abc"
    assert cut_at_stop("abc", []) == "abc"


def test_order_stops_eos_and_batches() -> None:
    model = Scripted({"a": "one\n\ntwo", "bb": "three", "ccc": "four Question: five"})
    reqs = [GenerateUntil("a", ("\n\n",), 20), GenerateUntil("bb", ("\n\n",), 20),
            GenerateUntil("ccc", ("Question:",), 20), GenerateUntil("bb", ("\n\n",), 3)]
    out = generate_until(model, CharCodec(), reqs, batch_size=2)
    # eos (id 0) ends "three" before the ids that follow it; max_new_tokens=3 cuts "thr"
    assert out == ["one", "three", "four ", "thr"]
    # grouped by settings, longest prompt first within a group, at most 2 per batch
    assert model.calls == [["bb", "a"], ["ccc"], ["bb"]]
    with pytest.raises(ValueError, match="batch_size"):
        generate_until(model, CharCodec(), reqs, batch_size=0)


def test_long_prompts_keep_their_end() -> None:
    model = Scripted({"end": "x"})
    out = generate_until(model, CharCodec(), [GenerateUntil("z" * 100 + "|end", (), 4)])
    assert out == ["x"] and len(model.calls[0][0]) == 64 - 4


class Uniform(torch.nn.Module):
    vocab_size = 256
    max_sequence_length = 64
    eos_token_id = 0

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return torch.zeros(*input_ids.shape, 300)  # padded: only the first 256 count


def test_bits_per_byte_closed_form() -> None:
    # a uniform model spends log2(256) = 8 bits on every token; one token per byte here
    out = bits_per_byte(Uniform(), CharCodec(), [("Question: x\nAnswer:", " forty-two"), ("ctx", "")])
    assert out[0] == pytest.approx(8.0) and out[1] is None
    # a 2-byte character is one token: 8 bits over 2 bytes
    assert bits_per_byte(Uniform(), CharCodec(), [("a", "é")])[0] == pytest.approx(8 / 2)
    assert math.isfinite(out[0])
