"""generate_until (order kept, stop sequences cut on text, eos cut, prompts truncated on the left), gold
bits per byte, and one generation task run with its per-instance records: resume, pass@k."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from olmo_eval.generative import bits_per_byte, cut_at_stop, generate_until, run_generation_task
from olmo_eval.models import load_model
from olmo_eval.requests import GenerateUntil
from olmo_eval.tasks import get_task


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


@pytest.fixture(scope="module")
def ours(olmo_core_dir: Path, hf_dir: Path):
    return load_model(olmo_core_dir, tokenizer=hf_dir / "tokenizer.json")


class Counting:
    """Passes generation through, counting the prompts it is asked to continue."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.prompts = 0
        for name in ("vocab_size", "max_sequence_length", "eos_token_id"):
            setattr(self, name, getattr(inner, name))

    def __call__(self, input_ids):
        return self.inner(input_ids)

    def generate(self, prompts, *args, **kwargs):
        self.prompts += len(prompts)
        return self.inner.generate(prompts, *args, **kwargs)


def test_resume_after_interruption(ours, tmp_path: Path) -> None:
    model, codec = ours
    task = get_task("naturalqs_open", limit=4, max_new_tokens=6)
    first = run_generation_task(task, model, codec, out_dir=tmp_path, batch_size=2, progress=False)
    path = tmp_path / "naturalqs_open" / "instances.jsonl"
    lines = path.read_text().splitlines(keepends=True)
    # interrupted while writing the third record: header, two records and half a line survive
    path.write_text("".join(lines[:3]) + lines[3][: len(lines[3]) // 2])
    counting = Counting(model)
    again = run_generation_task(task, counting, codec, out_dir=tmp_path, batch_size=2, progress=False)
    assert counting.prompts == 2
    assert again == first
    assert path.read_text().splitlines() == [x.rstrip("\n") for x in lines]
    # a finished run does nothing more
    counting.prompts = 0
    run_generation_task(task, counting, codec, out_dir=tmp_path, batch_size=2, progress=False)
    assert counting.prompts == 0
    with pytest.raises(ValueError, match="instances.jsonl:1: written by another configuration"):
        run_generation_task(task.with_overrides(max_new_tokens=7), model, codec, out_dir=tmp_path, progress=False)
    # records of one model are never resumed as another's
    named = tmp_path / "named"
    run_generation_task(task, model, codec, out_dir=named, batch_size=2, progress=False, model_id="ckpt sha256:aa")
    with pytest.raises(ValueError, match="instances.jsonl:1: written by another configuration"):
        run_generation_task(task, model, codec, out_dir=named, progress=False, model_id="ckpt sha256:bb")


def test_pass_at_k_with_samples(ours, tmp_path: Path) -> None:
    model, codec = ours
    task = get_task("codex_humaneval", limit=1, max_new_tokens=4, num_samples=3, temperature=0.8,
                               pass_at_ks=(1, 2, 3))
    metrics = run_generation_task(task, model, codec, batch_size=1, progress=False, compute_bpb=False)
    assert {"pass@1", "pass@2", "pass@3"} <= set(metrics)
    assert sum(metrics["outcomes"].values()) == 3
    with pytest.raises(ValueError, match="needs temperature > 0"):
        get_task("codex_mbpp", num_samples=2)
