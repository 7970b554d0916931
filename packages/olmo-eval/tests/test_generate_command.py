"""``olmo-eval generate`` on an HF folder; the prompt style follows the model."""

from __future__ import annotations

import json
from pathlib import Path

from olmo_eval.cli import main
from olmo_eval.models import default_prompt_style


def test_generate_command_writes_records_and_metrics(hf_dir: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "gen"
    rc = main(["generate", "--model", str(hf_dir), "--tasks", "lambada,naturalqs_open", "--limit", "2",
               "--max-new-tokens", "4", "--batch-size", "2", "--out", str(out)])
    assert rc == 0
    scores = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert set(scores) == {"lambada", "naturalqs_open"}
    for task in scores:
        assert len((out / "generation" / task / "instances.jsonl").read_text().splitlines()) == 3
        assert json.loads((out / "generation" / task / "metrics.json").read_text())["prompt_style"] == "base"
    assert set(json.loads((out / "metrics.json").read_text())["tasks"]) == set(scores)


def test_prompt_style_follows_the_model(tmp_path: Path) -> None:
    assert default_prompt_style(tmp_path) == "base"
    (tmp_path / "tokenizer_config.json").write_text(json.dumps({"chat_template": "{% for m in messages %}..."}))
    assert default_prompt_style(tmp_path) == "chat"
