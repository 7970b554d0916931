"""``olmo-eval run`` killed (SIGKILL) inside its writes and at a seeded random moment, then resumed: every
output file (requests, per-instance predictions, per-task results, metrics.json) is byte-identical to an
uninterrupted run's, and a run killed between two tasks leaves the unfinished task without a results
file and no metrics.json, so nothing reads it as finished and the rerun scores that task again. No field is ignored: ``olmo-eval run`` writes no
times.

Two real tasks (ARC-Easy cloze with PMI, COPA) on 24 instances each, a tiny olmo-core checkpoint.
Fault site ``atomic.before_rename`` (``olmo_eval.files.atomic_write``, every output). Writes in a fresh
run: requests of both tasks (1, 2), then per task predictions and results (3, 4: ARC-Easy; 5, 6: COPA),
then metrics.json (7). The seed and kills are printed (``-s``) and counted in packages/olmo-eval/README.md."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from .harness import chaos_run, leftover_temporaries, timed_run, tree_digest

EVAL_SEED = 2205
TASKS = ("arc_easy", "copa")


def _env(fault: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OLMO_STACK_FAULT"}
    env.update(HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false", PYTHONUNBUFFERED="1")
    if fault:
        env["OLMO_STACK_FAULT"] = fault
    return env


def _argv(model: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "olmo_eval.cli", "run", "--model", str(model), "--tasks", ",".join(TASKS),
            "--limit", "24", "--device", "cpu", "--out", str(out), "--no-progress"]


def _temporaries(root: Path) -> list[str]:
    # olmo-eval's atomic writer names its temporary <name>.tmp; the other packages' .<name>.tmp-<pid>
    return sorted({*leftover_temporaries(root), *(p.relative_to(root).as_posix() for p in root.rglob("*.tmp"))})


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from olmo_core.model.config import ModelConfig

    torch.manual_seed(0)
    m = ModelConfig(d_model=64, n_layers=2, n_heads=4, mlp_hidden_size=128, max_sequence_length=512).build()
    m.init_weights(0)
    path = tmp_path_factory.mktemp("eval_model") / "ckpt"
    save_model_checkpoint(m, path)
    return path


def test_eval_run_survives_kills(model: Path, tmp_path: Path) -> None:
    base = tmp_path / "base"
    seconds = timed_run(_argv(model, base), env=_env(), timeout=600)
    expected = tree_digest(base)
    assert sorted(expected) == sorted(["metrics.json", *(f"{d}/{t}.{ext}" for t in TASKS for d, ext in
                                                         (("requests", "jsonl.gz"), ("predictions", "jsonl.gz"),
                                                          ("results", "json")))])

    out = tmp_path / "chaos"
    # Killed between the two tasks (ARC-Easy's results written, COPA's predictions not yet renamed):
    # what is there must read as one finished task and one unfinished, never as a finished run.
    killed = subprocess.run(_argv(model, out), env=_env("atomic.before_rename:5"), capture_output=True, text=True,
                            timeout=600, start_new_session=True)
    assert killed.returncode == -signal.SIGKILL, killed.stdout[-2000:] + killed.stderr[-2000:]
    assert not (out / "metrics.json").exists() and not (out / "results" / "copa.json").exists()
    assert (out / "results" / "arc_easy.json").read_bytes() == (base / "results" / "arc_easy.json").read_bytes()

    report = chaos_run(_argv(model, out), seed=EVAL_SEED, duration=seconds, random_kills=1, env=_env(), timeout=600,
                       # reruns that skip ARC-Easy write requests (1, 2), COPA's predictions (3) and
                       # results (4), metrics.json (5): COPA's results complete but not renamed, then
                       # every result there but not metrics.json
                       fault_sites=["atomic.before_rename:4", "atomic.before_rename:5"])
    assert report.kills >= 2, str(report)
    assert tree_digest(out) == expected, "outputs differ from the uninterrupted run's after resuming"
    assert _temporaries(out) == []
    metrics = json.loads((out / "metrics.json").read_text())
    assert sorted(metrics["tasks"]) == sorted(TASKS)
