"""The whole release (``olmo-stack demo --preset smoke``) killed (SIGKILL to its process group) inside a
stage and between stages, then resumed: finished stages are not redone, and every loss, in-loop and
offline evaluation figure, on-policy pair set, held-out verified accuracy and the exported weights equal
an uninterrupted run's (the session's shared smoke run, tests/conftest.py).

Kills, in order, each resumed from what the previous left:
1. inside pretraining, once its first checkpoint (step 20 of 40) is on disk;
2. fault site ``stage.before_manifest:1``: the resumed run finishes pretraining and is killed before the
   stage's manifest is written, so the stage is unfinished although its work is done;
3. one seeded random moment within the rest of the run (evaluation, SFT, on-policy sampling, DPO, GRPO,
   export; the delay is drawn against the uninterrupted run's time for those stages);
then a final run. Seed and kills are printed (``-s``) and counted in the root README."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .harness import chaos_run, leftover_temporaries

DEMO_SEED = 2216
DATA_STAGES = ("filter", "decontaminate", "tokens")
AFTER_PRETRAIN = ("eval_base", "tasks", "sft", "onpolicy", "dpo", "grpo", "eval_verified", "eval_adapted", "export")
ENV = {**{k: v for k, v in os.environ.items() if k != "OLMO_STACK_FAULT"},
       "HF_HUB_OFFLINE": "1", "WANDB_MODE": "offline", "TOKENIZERS_PARALLELISM": "false"}


def _cmd(out: Path) -> list[str]:
    return [sys.executable, "-m", "olmo_stack.cli", "demo", "--preset", "smoke", "--out", str(out)]


def _manifest(run: Path, stage: str) -> dict:
    return json.loads((run / stage / "manifest.json").read_text())


def _losses(run: Path, stage: str) -> list[tuple[int, float]]:
    rows = [json.loads(line) for line in (run / stage / "metrics.jsonl").read_text().splitlines()]
    return [(r["step"], r["train/loss"]) for r in rows]


def _without_paths(metrics: dict) -> dict:
    """An evaluation stage's metrics without the checkpoint paths (the two runs live in different folders)."""
    out = {k: v for k, v in metrics.items() if k != "checkpoint"}
    for k in ("sft", "dpo", "grpo"):
        if k in out:
            out[k] = {kk: vv for kk, vv in out[k].items() if kk != "checkpoint"}
    return out


def _kill_inside_pretraining(out: Path) -> None:
    proc = subprocess.Popen(_cmd(out), env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    ckpts = out / "pretrain" / "checkpoints"
    deadline = time.time() + 1200
    while time.time() < deadline and proc.poll() is None:
        if ckpts.is_dir() and any((p / "manifest.json").is_file() for p in ckpts.glob("step*")):
            break
        time.sleep(0.2)
    assert proc.poll() is None, "the run ended before pretraining wrote a checkpoint"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (out / "pretrain" / "manifest.json").exists()


def test_demo_survives_kills(smoke_demo: tuple[Path, float], tmp_path: Path) -> None:
    base, _ = smoke_demo
    out = tmp_path / "run"
    _kill_inside_pretraining(out)
    data_started = {s: _manifest(out, s)["started"] for s in DATA_STAGES}

    rest = sum(_manifest(base, s)["seconds"] for s in AFTER_PRETRAIN) + 10.0  # + start-up
    report = chaos_run(_cmd(out), seed=DEMO_SEED, duration=rest, random_kills=1, env=ENV, timeout=1500,
                       fault_sites=["stage.before_manifest:1"])
    assert report.attempts[0].killed, str(report)
    print(f"demo chaos: {report.kills + 1} kills survived (1 inside pretraining + {report.kills} by the harness)")

    assert {s: _manifest(out, s)["started"] for s in DATA_STAGES} == data_started, "a finished data stage was redone"
    a, b = _manifest(base, "pretrain")["metrics"], _manifest(out, "pretrain")["metrics"]
    assert a["final"]["train/loss"] == b["final"]["train/loss"]
    assert a["inloop_history"] == b["inloop_history"]
    for stage in ("pretrain", "sft", "dpo", "grpo"):
        assert _losses(base, stage) == _losses(out, stage), f"{stage}: per-step losses differ after resuming"
    for stage in ("sft", "dpo", "grpo"):
        ma, mb = _manifest(base, stage)["metrics"], _manifest(out, stage)["metrics"]
        for key in ("steps", "final_loss", "units", "prompts", "final_reward"):
            assert ma.get(key) == mb.get(key), f"{stage}: {key} differs after resuming"
    ma, mb = _manifest(base, "onpolicy")["metrics"], _manifest(out, "onpolicy")["metrics"]
    assert {k: v for k, v in ma.items() if k != "seconds"} == {k: v for k, v in mb.items() if k != "seconds"}
    vb, vo = _manifest(base, "eval_verified")["metrics"], _manifest(out, "eval_verified")["metrics"]
    assert {k: v for k, v in vb.items() if k != "checkpoints"} == {k: v for k, v in vo.items() if k != "checkpoints"}
    for stage in ("eval_base", "eval_adapted"):
        assert _without_paths(_manifest(base, stage)["metrics"]) == _without_paths(_manifest(out, stage)["metrics"]), \
            f"{stage} metrics differ after resuming"
    weights = "export/hf/model.safetensors"
    assert (base / weights).read_bytes() == (out / weights).read_bytes(), "the exported weights differ"
    leftovers = [*leftover_temporaries(out), *(p.relative_to(out).as_posix() for p in out.rglob("*.tmp"))]
    assert leftovers == [], f"temporaries left behind: {leftovers}"
