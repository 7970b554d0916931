"""A run killed with SIGKILL and resumed from its last checkpoint produces bit-identical losses to
an uninterrupted run (CPU, single process)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import run_overrides

from olmo_core.train.callbacks.metrics_jsonl import read_metrics

KILLER = textwrap.dedent("""
    import os, signal, sys
    from olmo_core.config.load import run_preset
    from olmo_core.train.callbacks.base import TrainerCallback

    class KillAt(TrainerCallback):
        priority = 1000  # after the loggers and the checkpointer

        def on_step_end(self, state, metrics):
            if state.step == int(sys.argv[1]):
                os.kill(os.getpid(), signal.SIGKILL)

    run_preset("tiny", sys.argv[2:]).build(extra_callbacks=[KillAt()]).fit()
""")


def test_sigkill_and_resume_is_bit_identical(corpus_tokens: Path, reference_run: Path, tmp_path: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "offline"}
    killed_dir = tmp_path / "killed"
    proc = subprocess.run([sys.executable, "-c", KILLER, "5", *run_overrides(corpus_tokens, killed_dir)],
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert sorted(p.name for p in (killed_dir / "checkpoints").iterdir()) == ["step3"]
    assert max(r["step"] for r in read_metrics(killed_dir / "metrics.jsonl")) == 5

    resumed = subprocess.run([sys.executable, "-m", "olmo_core.cli", "train", "--preset", "tiny",
                              *run_overrides(corpus_tokens, killed_dir)], capture_output=True, text=True, env=env,
                             timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stdout and "step3" in resumed.stdout

    straight = read_metrics(reference_run / "metrics.jsonl")
    again = read_metrics(killed_dir / "metrics.jsonl")
    assert [r["step"] for r in again] == list(range(1, 9)) == [r["step"] for r in straight]
    for a, b in zip(straight, again):
        for key in ("train/loss", "optim/grad_norm", "optim/lr", "data/batch_digest"):
            assert a[key] == b[key], (a["step"], key, a[key], b[key])
    assert straight[-1]["train/loss"] < straight[0]["train/loss"]
