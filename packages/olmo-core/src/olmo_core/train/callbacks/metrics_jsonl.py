"""Every step's metrics as one JSON line in ``<run_dir>/metrics.jsonl``; a resumed run first drops the
lines of steps after its checkpoint, so the file always describes one consistent history."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from olmo_core.fileio import write_atomic
from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import PRIORITY_LOGGER, TrainerCallback, register_callback


def read_metrics(path: str | Path) -> list[dict]:
    rows = []
    with open(path, "rb") as f:
        for raw in f:
            if raw.strip():
                try:
                    row = json.loads(raw.decode("utf-8"))
                except ValueError:  # not JSON or not UTF-8
                    break  # a line cut by a kill (or damaged) is the end of the history
                if not isinstance(row, dict):
                    break
                rows.append(row)
    return rows


@register_callback("metrics_jsonl")
class JSONLMetrics(TrainerCallback):
    priority = PRIORITY_LOGGER

    def __init__(self, filename: str = "metrics.jsonl") -> None:
        self.filename = filename
        self.path: Path | None = None

    def on_train_start(self, state: TrainerState) -> None:
        if not state.is_main_process:
            return
        self.path = Path(state.run_dir) / self.filename
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            keep = [r for r in read_metrics(self.path) if r.get("step", 0) <= state.step]
            write_atomic(self.path, "".join(json.dumps(r) + "\n" for r in keep))

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        if self.path is None:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": state.step, **dict(metrics)}) + "\n")
