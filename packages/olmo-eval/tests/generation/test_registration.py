"""The generation tasks inside ``olmo-eval run`` and ``olmo-eval list``."""

from __future__ import annotations

import json
from pathlib import Path

from olmo_eval.cli import main
from olmo_eval.generation.tasks import GEN6
from olmo_eval.tasks.registry import expand, get_task


def test_gen6_suite_and_tasks_are_registered() -> None:
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
