"""The pretrain stage's final metrics when it is rerun after a kill between its last checkpoint and its
manifest: the trainer resumes at max_steps and takes no step, so they come from the metrics log."""

from __future__ import annotations

import json
from pathlib import Path

from olmo_stack.pipeline.train import logged_metrics


def test_final_metrics_of_a_stage_resumed_at_its_last_step(tmp_path: Path) -> None:
    rows = [{"step": s, "train/loss": 10.0 / s, "optim/lr": 1e-3} for s in (1, 2, 3)]
    text = "".join(json.dumps(r) + "\n" for r in rows) + '{"step": 4, "train/lo'  # a line cut by a kill
    (tmp_path / "metrics.jsonl").write_text(text)
    assert logged_metrics(tmp_path, 3) == {"train/loss": 10.0 / 3, "optim/lr": 1e-3}
    assert logged_metrics(tmp_path, 4) == {}  # never logged: nothing is made up
    assert logged_metrics(tmp_path, 0) == {} and logged_metrics(tmp_path / "nowhere", 3) == {}
