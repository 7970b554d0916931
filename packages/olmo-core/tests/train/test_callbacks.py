"""Callbacks: MFU only for known devices, JSON-lines history consistent across resume, W&B run id
kept in checkpoints, the evaluator hook, any Callback-protocol object, and the loss plot."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch
from trainer_testlib import make_trainer, small_config, small_model

from olmo_core.interfaces import Callback
from olmo_core.train.callbacks import CALLBACKS, TrainerCallback, build_callback
from olmo_core.train.callbacks.metrics_jsonl import JSONLMetrics, read_metrics
from olmo_core.train.callbacks.speed import mfu, peak_flops
from olmo_core.train.callbacks.wandb import WandbCallback


def _steps(n: int) -> list:
    g = torch.Generator().manual_seed(0)
    return [[{"input_ids": (ids := torch.randint(2, 99, (2, 9), generator=g))[:, :-1], "labels": ids[:, 1:]}]
            for _ in range(n)]


def test_peak_table_and_mfu() -> None:
    assert peak_flops("NVIDIA A100-SXM4-80GB") == 312e12
    assert peak_flops("NVIDIA H100 80GB HBM3") == 989e12
    assert peak_flops("AMD Instinct MI250X") == 191.5e12
    assert peak_flops("cpu") is None and peak_flops("Some Future GPU") is None
    assert mfu(1000.0, 6e9, 312e12) == pytest.approx(1000 * 6e9 / 312e12)
    assert mfu(1000.0, 6e9, None) is None


class Recorder:
    """Not a TrainerCallback subclass: only the Callback protocol, as olmo-eval's evaluator."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.saw: dict[str, Any] = {}

    def on_train_start(self, state: Any) -> None:
        self.events.append("start")

    def on_step_end(self, state: Any, metrics: Any) -> None:
        self.events.append(f"step{state.step}")
        state.log({"custom/value": float(state.step)})

    def on_checkpoint(self, state: Any, path: Path) -> None:
        self.events.append(f"ckpt{state.step}")

    def on_train_end(self, state: Any) -> None:
        self.events.append("end")

    def state_dict(self) -> dict[str, Any]:
        return {"n": len(self.events)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.saw = state


def test_callbacks_end_to_end_with_resume(tmp_path: Path) -> None:
    assert {"console", "metrics_jsonl", "wandb", "speed", "memory", "gc", "checkpointer", "evaluator",
            "loss_plot"} <= set(CALLBACKS)
    rec = Recorder()
    assert isinstance(rec, Callback) and isinstance(TrainerCallback(), Callback)
    evaluated = []
    evaluator = build_callback("evaluator", evaluate=lambda m: evaluated.append(1) or {"ppl": 3.0}, every=2)
    wb = WandbCallback(project="test", mode="offline")
    cbs = [rec, evaluator, wb, JSONLMetrics(), build_callback("speed"), build_callback("memory"),
           build_callback("loss_plot"), build_callback("checkpointer", every=2)]
    trainer = make_trainer(small_model(), _steps(3), tmp_path)
    trainer.callbacks = sorted(cbs, key=lambda c: getattr(c, "priority", 0))
    trainer.run_config = {"model": small_config().to_dict()}
    trainer.fit()
    # the final checkpoint is written by the checkpointer's own on_train_end, which runs last
    assert rec.events == ["start", "step1", "step2", "ckpt2", "step3", "end", "ckpt3"]
    rows = read_metrics(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3]
    # what callbacks log reaches the loggers in the same step
    assert rows[0]["custom/value"] == 1.0 and rows[1]["eval/ppl"] == 3.0 and "eval/ppl" not in rows[0]
    assert "throughput/tokens_per_sec" in rows[1] and rows[1]["throughput/mfu_known"] == 0.0
    assert "throughput/mfu" not in rows[1]  # CPU: unknown, not guessed
    assert any(k.startswith("memory/") for k in rows[0])
    assert (tmp_path / "loss.png").stat().st_size > 1000
    run_id = wb.run_id
    assert run_id and list((tmp_path / "wandb").glob(f"offline-run-*-{run_id}"))

    # A second run resumes from step 2: the history is cut back, the W&B run id carries over.
    (tmp_path / "checkpoints" / "step3").rename(tmp_path / "step3-moved")
    wb2, rec2, jl = WandbCallback(project="test", mode="offline"), Recorder(), JSONLMetrics()
    trainer2 = make_trainer(small_model(seed=5), _steps(3), tmp_path, resume="auto")
    trainer2.callbacks = [rec2, wb2, jl]
    trainer2.maybe_resume()
    assert trainer2.step == 2 and wb2.run_id == run_id and rec2.saw == {"n": 3}  # start, step1, step2 when step 2 was saved
    jl.on_train_start(trainer2)
    assert [r["step"] for r in read_metrics(tmp_path / "metrics.jsonl")] == [1, 2]
    json.dumps(rows)  # metrics are JSON-serializable
