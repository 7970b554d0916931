"""A run asked again once it is finished (as after a kill between its last checkpoint and its summary)
resumes at its last step, takes none, and reports the same final loss and metrics."""

from __future__ import annotations

import json

import torch

from olmo_core.checkpoint.model_io import save_model_checkpoint
from open_instruct.train.presets import compose_config
from open_instruct.train.run import run


def test_rerun_of_a_finished_run_reports_its_final_metrics(tiny_model, sft_file, tmp_path) -> None:
    save_model_checkpoint(tiny_model, tmp_path / "init")
    overrides = [f"init_from={tmp_path / 'init'}", f"data.sources=[{sft_file}:16]", "data.exclude=[]",
                 "data.max_length=256", f"data.cache_dir={tmp_path / 'cache'}", f"trainer.run_dir={tmp_path / 'run'}",
                 "batch.global_batch_size=8", "batch.micro_batch_size=8", "batch.epochs=1",
                 "~trainer.callbacks.loss_plot", "~trainer.callbacks.speed", "~trainer.callbacks.console"]
    first = run(compose_config("tiny_sft", overrides))
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert first["steps"] == 2 and first["final_loss"] == rows[-1]["train/loss"]
    torch.manual_seed(123)  # nothing of the second run may depend on leftover state
    again = run(compose_config("tiny_sft", overrides))
    assert again["steps"] == 2 and again["final_loss"] == first["final_loss"]
    assert again["final_metrics"] == first["final_metrics"]
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["final_loss"] == first["final_loss"]
