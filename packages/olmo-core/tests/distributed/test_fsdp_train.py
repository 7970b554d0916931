"""`olmo-core train` under torchrun with 2 gloo processes and FSDP2 (float32 parameters on the CPU:
the tiny preset's parallel.param_dtype): the loss falls, every step trains the same global batch as
the single-process run (world-size independence of the data order, checked on the trained batches'
digests), the sharded checkpoint reloads in one process, and `olmo-core data-order` names the
documents of a step, checked against the sidecars read independently and the trained digest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import run_overrides

from olmo_core.checkpoint.model_io import load_model_checkpoint
from olmo_core.config.load import run_preset
from olmo_core.interfaces import validate_checkpoint
from olmo_core.train.callbacks.metrics_jsonl import read_metrics


def _sidecar_rows(tokens: Path) -> list[tuple[int, int, str, str]]:
    """(global start, global end, id, source) of every document, straight from the files."""
    rows, base = [], 0
    for sidecar in sorted(tokens.glob("*.docs.jsonl")):
        lines = sidecar.read_text().splitlines()
        header = json.loads(lines[0])
        for line in lines[1:]:
            start, end, doc_id, source, _file = json.loads(line)
            rows.append((base + start, base + end, doc_id, source))
        base += header["num_tokens"]
    return rows


def test_fsdp_two_processes(corpus_tokens: Path, reference_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "fsdp"
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "olmo_core.cli", "train", "--preset", "tiny", "parallel.strategy=fsdp",
                           *run_overrides(corpus_tokens, run_dir)], capture_output=True, text=True, env=env,
                          timeout=400)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]

    fsdp = read_metrics(run_dir / "metrics.jsonl")
    single = read_metrics(reference_run / "metrics.jsonl")
    assert [r["step"] for r in fsdp] == list(range(1, 9))
    assert [r["data/batch_digest"] for r in fsdp] == [r["data/batch_digest"] for r in single]
    assert abs(fsdp[0]["train/loss"] - single[0]["train/loss"]) < 1e-5 * single[0]["train/loss"]
    assert np.mean([r["train/loss"] for r in fsdp[-3:]]) < fsdp[0]["train/loss"] - 0.3

    ckpt = run_dir / "checkpoints" / "step8"
    manifest = validate_checkpoint(ckpt)
    assert manifest.sharded and any(f.startswith("model/") for f in manifest.files)
    model = load_model_checkpoint(ckpt)  # 2 shards read back in one process
    assert model.config.d_model == 64

    # Resume the sharded 2-rank checkpoint in one process (DCP reshards model and optimizer).
    cont = run_preset("tiny", [*run_overrides(corpus_tokens, tmp_path / "cont"), f"trainer.resume={ckpt}",
                               "trainer.max_steps=9"])
    trainer = cont.build()
    last = trainer.fit()
    assert trainer.step == 9 and np.isfinite(last["train/loss"])

    # data-order: the documents of step 4, against the sidecars and the trained digest.
    out = subprocess.run([sys.executable, "-m", "olmo_core.cli", "data-order", "--config", str(run_dir), "--step", "4",
                          "--json", "--check-metrics", str(run_dir / "metrics.jsonl")],
                         capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    trace = json.loads(out.stdout.splitlines()[0])
    assert "digest check" in out.stdout and "OK" in out.stdout
    assert trace["digest"] == fsdp[3]["data/batch_digest"]
    rows = _sidecar_rows(corpus_tokens)
    stream = np.concatenate([np.load(p) for p in sorted(corpus_tokens.glob("*.npy"))])
    assert len(trace["instances"]) == 4
    for inst in trace["instances"]:
        start = inst["index"] * 32
        assert (inst["start"], inst["end"]) == (start, start + 32)
        expected = [(d, s) for a, b, d, s in rows if a < start + 32 and b > start]
        assert [(d["id"], d["source"]) for d in inst["documents"]] == expected
        # the documents' token ranges cover exactly the instance's tokens
        covered = np.concatenate([stream[d["start"]:d["end"]] for d in inst["documents"]])
        np.testing.assert_array_equal(covered, stream[start:start + 32])


def test_ddp_two_processes_match_single_process(corpus_tokens: Path, reference_run: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "ddp"
    env = {**os.environ, "WANDB_MODE": "offline", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "olmo_core.cli", "train", "--preset", "tiny", "parallel.strategy=ddp",
                           *run_overrides(corpus_tokens, run_dir), "trainer.max_steps=2",
                           "trainer.checkpoint.save_at_end=false"],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    ddp = read_metrics(run_dir / "metrics.jsonl")
    single = read_metrics(reference_run / "metrics.jsonl")[:2]
    assert [r["data/batch_digest"] for r in ddp] == [r["data/batch_digest"] for r in single]
    for a, b in zip(ddp, single):
        assert abs(a["train/loss"] - b["train/loss"]) < 1e-5 * b["train/loss"]
