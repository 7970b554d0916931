"""Every task end to end on a tiny model, both prompt styles; per-instance records; resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from olmo_eval.generation.models import load_generator
from olmo_eval.generation.runner import run_generation_suite, run_generation_task
from olmo_eval.generation.tasks import GEN6, get_generation_task

SMALL = {"limit": 2, "max_new_tokens": 6}


@pytest.fixture(scope="module")
def ours(olmo_core_dir: Path, hf_dir: Path):
    return load_generator(olmo_core_dir, tokenizer=hf_dir / "tokenizer.json")


@pytest.mark.parametrize("style", ["base", "chat"])
def test_every_task_end_to_end(ours, style: str, tmp_path: Path) -> None:
    model, codec = ours
    results = run_generation_suite(model, codec, "gen6", out_dir=tmp_path, prompt_style=style, overrides=SMALL,
                                   batch_size=2, progress=False)
    assert list(results) == list(GEN6)
    for name, metrics in results.items():
        assert metrics["num_instances"] == 2 and metrics["prompt_style"] == style
        assert 0.0 <= metrics["primary_score"] <= 1.0
        assert metrics["bits_per_byte"] > 0
        lines = (tmp_path / name / "instances.jsonl").read_text().splitlines()
        header, records = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
        assert header["task"] == name and len(records) == 2
        for rec in records:
            assert set(rec) >= {"prompt", "generations", "extracted", "verdicts", "metrics", "bits_per_byte"}
            assert len(rec["generations"]) == 1
            if style == "chat":
                assert rec["prompt"].startswith("<|endoftext|><|user|>\n") and "\n<|assistant|>\n" in rec["prompt"]
        assert json.loads((tmp_path / name / "metrics.json").read_text())["primary_score"] == metrics["primary_score"]
    code = results["codex_humaneval"]["outcomes"]
    assert sum(code.values()) == 2
    assert json.loads((tmp_path / "generation_metrics.json").read_text()).keys() == results.keys()


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
    task = get_generation_task("naturalqs_open", limit=4, max_new_tokens=6)
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


def test_pass_at_k_with_samples(ours, tmp_path: Path) -> None:
    model, codec = ours
    task = get_generation_task("codex_humaneval", limit=1, max_new_tokens=4, num_samples=3, temperature=0.8,
                               pass_at_ks=(1, 2, 3))
    metrics = run_generation_task(task, model, codec, batch_size=1, progress=False, compute_bpb=False)
    assert {"pass@1", "pass@2", "pass@3"} <= set(metrics)
    assert sum(metrics["outcomes"].values()) == 3
    with pytest.raises(ValueError, match="needs temperature > 0"):
        get_generation_task("codex_mbpp", num_samples=2)
