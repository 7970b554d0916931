"""A GRPO run killed with SIGKILL and resumed leaves what an uninterrupted run leaves: byte-identical
rollout logs, bit-identical per-step metrics (loss, gradient norm, batch digest, rewards) and the
same final weights, and no temporary behind.

The kill (a fault site, ``tests/chaos/harness.py``) lands inside the 2nd checkpoint's commit, so the
run resumes from step 1, in the middle of a rollout batch's two iterations, and must replay that
batch from its log; step 3 then samples a new batch from the resumed weights. Checkpoint files are
compared but for ``config.json`` (it names the run folder) and what records its hash (the manifest,
DCP's ``.metadata``, which holds the folder and a random save id)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

from grpo.tasks_fixture import write_tasks

from olmo_core.checkpoint.model_io import save_model_checkpoint
from olmo_core.train.callbacks.metrics_jsonl import read_metrics

REPO = Path(__file__).resolve().parents[4]
# loaded under its own name: tools/bench/harness.py is also imported as ``harness`` by other tests
_spec = importlib.util.spec_from_file_location("chaos_harness", REPO / "tests" / "chaos" / "harness.py")
chaos = sys.modules.setdefault("chaos_harness", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(chaos)

IGNORE = ["config.json", "manifest.json", "*.metadata"]
CHILD = Path(__file__).resolve().parents[1] / "grpo" / "grpo_child.py"


def test_killed_grpo_run_resumes_to_the_same_rollouts_and_weights(tiny_model, tmp_path) -> None:
    save_model_checkpoint(tiny_model, tmp_path / "init")
    tasks = write_tasks(tmp_path / "tasks.jsonl", 6)
    env = {**os.environ, "OMP_NUM_THREADS": "2"}
    argv = [sys.executable, str(CHILD), str(tmp_path / "init"), str(tasks)]
    seconds = chaos.timed_run([*argv, str(tmp_path / "clean")], env=env)
    report = chaos.chaos_run([*argv, str(tmp_path / "chaos")], seed=2020, duration=seconds, random_kills=0,
                       fault_sites=["checkpoint.before_commit:2"], env=env)
    assert report.kills == 1, str(report)
    clean, chaos_dir = tmp_path / "clean", tmp_path / "chaos"
    assert sorted(p.name for p in (clean / "rollouts").iterdir()) == ["step1.jsonl", "step3.jsonl"]
    assert chaos.tree_digest(chaos_dir / "rollouts") == chaos.tree_digest(clean / "rollouts")
    rows = [read_metrics(d / "metrics.jsonl") for d in (clean, chaos_dir)]
    assert [r["step"] for r in rows[0]] == [1, 2, 3] and rows[0] == rows[1]
    assert rows[0][1]["train/ratio"] != 1.0 and rows[0][0]["train/kl"] == 0.0  # step 2 re-used step 1's batch
    ck = "checkpoints/step3"
    assert chaos.tree_digest(chaos_dir / ck, ignore=IGNORE) == \
        chaos.tree_digest(clean / ck, ignore=IGNORE)
    assert json.loads((chaos_dir / "summary.json").read_text())["final_loss"] == rows[0][-1]["train/loss"]
    assert chaos.leftover_temporaries(chaos_dir) == []
