"""``open-instruct sft`` and ``dpo`` under torchrun with two gloo processes and FSDP2: the SFT losses
equal the single-process run's step by step (the global batch and the global-token normalisation do
not depend on the world size), DPO starts at ln 2 with the reference cache computed by rank 0 and read
by rank 1, and the sharded checkpoints load back in one process."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

from olmo_core.checkpoint.model_io import load_model_checkpoint, save_model_checkpoint
from olmo_core.interfaces import validate_checkpoint
from olmo_core.train.callbacks.metrics_jsonl import read_metrics

ENV = {**os.environ, "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1",
       "TOKENIZERS_PARALLELISM": "false"}


def _run(args: list[str], nproc: int) -> None:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(nproc)] \
        if nproc > 1 else [sys.executable]
    proc = subprocess.run([*launcher, "-m", "open_instruct.cli", *args], capture_output=True, text=True, env=ENV,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]


def test_sft_and_dpo_under_fsdp(sft_file: Path, dpo_file: Path, tiny_model, tmp_path: Path) -> None:
    save_model_checkpoint(tiny_model, tmp_path / "init")
    common = ["data.max_length=256", f"data.cache_dir={tmp_path / 'cache'}", "data.exclude=[]",
              "batch.global_batch_size=8", "batch.micro_batch_size=2", "trainer.max_steps=3",
              "trainer.checkpoint.every=3", "~trainer.callbacks.loss_plot", "~trainer.callbacks.speed"]
    sft = ["sft", "--preset", "tiny_sft", f"init_from={tmp_path / 'init'}", f"data.sources=[{sft_file}:48]", *common]
    _run([*sft, f"trainer.run_dir={tmp_path / 'sft1'}"], 1)
    _run([*sft, f"trainer.run_dir={tmp_path / 'sft2'}", "parallel.strategy=fsdp"], 2)
    one, two = read_metrics(tmp_path / "sft1" / "metrics.jsonl"), read_metrics(tmp_path / "sft2" / "metrics.jsonl")
    assert [r["step"] for r in two] == [1, 2, 3]
    for a, b in zip(one, two):
        assert abs(a["train/loss"] - b["train/loss"]) < 1e-4 * a["train/loss"], (a["train/loss"], b["train/loss"])
        assert a["train/num_target_tokens"] == b["train/num_target_tokens"]
    ckpt = tmp_path / "sft2" / "checkpoints" / "step3"
    assert validate_checkpoint(ckpt).sharded
    assert load_model_checkpoint(ckpt).config.d_model == tiny_model.config.d_model

    _run(["dpo", "--preset", "tiny_dpo", f"init_from={tmp_path / 'sft2'}", f"data.sources=[{dpo_file}:40]",
          "data.holdout=8", f"trainer.run_dir={tmp_path / 'dpo'}", "parallel.strategy=fsdp", *common], 2)
    rows = read_metrics(tmp_path / "dpo" / "metrics.jsonl")
    assert abs(rows[0]["train/loss"] - math.log(2)) < 1e-5  # policy == reference at step 1
    assert all(math.isfinite(r["train/rewards/margin"]) for r in rows)
    assert len(list((tmp_path / "cache" / "reference").glob("ref-*.npz"))) == 1  # one cache, shared by both ranks
    summary = json.loads((tmp_path / "dpo" / "summary.json").read_text())
    assert summary["heldout_before"]["pairs"] == summary["heldout_after"]["pairs"] == 8
    assert validate_checkpoint(Path(summary["checkpoint"])).sharded
