"""The runner: every generation task end to end on a tiny model, both prompt styles, beside the
ranked tasks' layout (requests, results, metrics.json), and ``olmo-eval run`` / ``list`` with them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from olmo_eval.cli import main
from olmo_eval.models import load_model
from olmo_eval.requests import GenerateUntil, load_compiled
from olmo_eval.runner import run
from olmo_eval.tasks.suites import GEN6

SMALL = {"max_new_tokens": 6}


@pytest.fixture(scope="module")
def ours(olmo_core_dir: Path, hf_dir: Path):
    return load_model(olmo_core_dir, tokenizer=hf_dir / "tokenizer.json")


@pytest.mark.parametrize("style", ["base", "chat"])
def test_every_generation_task_end_to_end(ours, style: str, tmp_path: Path) -> None:
    model, tokenizer = ours
    out = run(model, tokenizer, "gen6", tmp_path, limit=2, overrides=SMALL, prompt_style=style, batch_size=2,
              show_progress=False)
    assert list(out["tasks"]) == list(GEN6)
    for name, entry in out["tasks"].items():
        metrics = entry["metrics"]
        assert metrics["num_instances"] == 2 and metrics["prompt_style"] == style
        assert 0.0 <= entry["primary"] == metrics["primary_score"] <= 1.0
        assert metrics["bits_per_byte"] > 0
        lines = (tmp_path / "generation" / name / "instances.jsonl").read_text().splitlines()
        header, records = json.loads(lines[0]), [json.loads(x) for x in lines[1:]]
        assert header["task"] == name and len(records) == 2
        compiled = load_compiled(tmp_path / "requests" / f"{name}.jsonl.gz")
        assert compiled.kind == "generation" and all(isinstance(r, GenerateUntil) for r in compiled.requests)
        for rec, req in zip(records, compiled.requests):
            assert set(rec) >= {"prompt", "generations", "extracted", "verdicts", "metrics", "bits_per_byte"}
            assert len(rec["generations"]) == 1 and rec["prompt"] == req.prompt
            if style == "chat":
                assert rec["prompt"].startswith("<|endoftext|><|user|>\n") and "\n<|assistant|>\n" in rec["prompt"]
        saved = json.loads((tmp_path / "generation" / name / "metrics.json").read_text())
        assert saved["primary_score"] == metrics["primary_score"]
        assert json.loads((tmp_path / "results" / f"{name}.json").read_text())["primary"] == entry["primary"]
    code = out["tasks"]["codex_humaneval"]["metrics"]["outcomes"]
    assert sum(code.values()) == 2
    assert json.loads((tmp_path / "metrics.json").read_text())["tasks"].keys() == out["tasks"].keys()


def test_gen6_suite_and_tasks_are_registered() -> None:
    from olmo_eval.tasks import expand, get_task

    assert expand("gen6") == list(GEN6)
    for name in GEN6:
        task = get_task(name, limit=1, num_shots=0)  # the shipped prompts fix the shot count
        assert task.kind == "generation" and task.config.limit == 1
    assert get_task("gsm8k").config.num_shots == 8


def test_olmo_eval_run_scores_generation_tasks(hf_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["run", "--model", str(hf_dir), "--tasks", "lambada,naturalqs_open", "--limit", "2", "--out", str(out),
            "--device", "cpu", "--no-progress"]
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics["tasks"]) == {"lambada", "naturalqs_open"}
    for name, entry in metrics["tasks"].items():
        assert entry["metrics"]["num_instances"] == 2 and len(entry["ci95"]) == 2
        records = (out / "generation" / name / "instances.jsonl").read_text().splitlines()
        assert len(records) == 3
    before = (out / "generation" / "lambada" / "instances.jsonl").read_text()
    assert main(args) == 0  # rerun resumes from the records: nothing is regenerated
    assert (out / "generation" / "lambada" / "instances.jsonl").read_text() == before


def test_olmo_eval_list_shows_generation_tasks(capsys) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "gen6" in out and "codex_humaneval" in out


def test_a_task_finished_after_a_restart_scores_as_in_one_run(ours, tmp_path: Path) -> None:
    """A restarted run scores only the tasks without a result; their files must be byte-identical to an
    uninterrupted run's, whichever other tasks were scored beside them (batches mixing tasks pad
    differently and once moved the last bits of a log-prob)."""
    model, tokenizer = ours
    tasks = "arc_easy,copa,piqa"
    whole = tmp_path / "whole"
    run(model, tokenizer, tasks, whole, limit=12, num_shots=1, model_id="m", show_progress=False)
    restarted = tmp_path / "restarted"
    run(model, tokenizer, "copa", restarted, limit=12, num_shots=1, model_id="m", show_progress=False)
    (restarted / "metrics.json").unlink()  # as a kill before the end leaves it
    run(model, tokenizer, tasks, restarted, limit=12, num_shots=1, model_id="m", show_progress=False)
    files = sorted(p.relative_to(whole).as_posix() for p in whole.rglob("*") if p.is_file())
    assert len(files) == 10 and files == sorted(p.relative_to(restarted).as_posix()
                                                for p in restarted.rglob("*") if p.is_file())
    for rel in files:
        assert (whole / rel).read_bytes() == (restarted / rel).read_bytes(), rel
