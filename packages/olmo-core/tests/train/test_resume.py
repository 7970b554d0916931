"""A run killed with SIGKILL and resumed from its last checkpoint produces bit-identical losses to
an uninterrupted run (CPU, single process): killed after a step's checkpoint, at a random moment
(seeded; the seed is printed, ``OLMO_TEST_KILL_SEED`` replays it), and inside a checkpoint write, where
the half-written checkpoint must never be taken as finished."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from conftest import run_overrides

from olmo_core.checkpoint.manager import latest_checkpoint, list_checkpoints
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

    assert_same_curve(reference_run, killed_dir)


def assert_same_curve(reference_run: Path, run_dir: Path) -> None:
    straight = read_metrics(reference_run / "metrics.jsonl")
    again = read_metrics(run_dir / "metrics.jsonl")
    assert [r["step"] for r in again] == list(range(1, 9)) == [r["step"] for r in straight]
    for a, b in zip(straight, again):
        for key in ("train/loss", "optim/grad_norm", "optim/lr", "data/batch_digest"):
            assert a[key] == b[key], (a["step"], key, a[key], b[key])
    assert straight[-1]["train/loss"] < straight[0]["train/loss"]


# The run again, with hooks in the checkpoint writer (CheckpointManager.save writes .step<N>.partial: weights,
# then train state, then config and manifest, then renames it to step<N>). Each phase of a write, and each
# step, sleeps SLOW seconds so that a kill at a random moment lands in a write about a third of the time;
# PAUSE="<phase>:<step>" stops there for good (after writing a marker file) so the parent kills it inside.
HOOKED = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    import olmo_core.checkpoint.manager as M
    from olmo_core.config.load import run_preset
    from olmo_core.train.callbacks.base import TrainerCallback

    marker, slow, pause = Path(sys.argv[1]), float(os.environ["SLOW"]), os.environ.get("PAUSE", "")
    saving = {}

    def hook(phase):
        if pause == f"{phase}:{saving.get('step')}":
            marker.with_suffix(".paused").write_text(phase)
            time.sleep(600)
        time.sleep(slow)

    def before(name, phase):
        orig = getattr(M, name)
        def wrapped(*a, **k):
            hook(phase)
            return orig(*a, **k)
        setattr(M, name, wrapped)

    before("save_train_state", "weights_written")   # model weights written, train state not
    before("write_manifest", "state_written")       # weights, train state and config written, no manifest
    before("commit", "manifest_written")            # complete in .partial, not yet renamed
    save = M.CheckpointManager.save
    def saving_step(self, step, **k):
        saving["step"] = step
        return save(self, step, **k)
    M.CheckpointManager.save = saving_step

    class Slow(TrainerCallback):
        def on_train_start(self, state):
            marker.write_text(str(state.step))
        def on_step_end(self, state, metrics):
            time.sleep(slow)

    run_preset("tiny", sys.argv[2:]).build(extra_callbacks=[Slow()]).fit()
""")
PHASES = ("weights_written", "state_written", "manifest_written")
SLOW = 0.25  # seconds per step and per write phase: 8 steps + 3 checkpoints x 3 phases = 4.25 s of sleep


def start_hooked(corpus_tokens: Path, run_dir: Path, marker: Path, pause: str = "") -> subprocess.Popen:
    env = {**os.environ, "WANDB_MODE": "offline", "SLOW": str(SLOW), "PAUSE": pause}
    return subprocess.Popen([sys.executable, "-c", HOOKED, str(marker), *run_overrides(corpus_tokens, run_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_for(path: Path, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before {path.name}: {proc.stderr.read()[-3000:]}")
        assert time.monotonic() < deadline, f"no {path.name} after {timeout}s"
        time.sleep(0.02)


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(timeout=60) == -signal.SIGKILL
    proc.communicate()


def finished_steps(run_dir: Path) -> list[int]:
    return [s for s, _ in list_checkpoints(run_dir)]


def resume_to_the_end(corpus_tokens: Path, run_dir: Path, expect_from: int | None) -> None:
    """Resume with the plain CLI; it must start from ``expect_from`` (None: from scratch)."""
    latest = latest_checkpoint(run_dir)
    assert (latest.name if latest else None) == (f"step{expect_from}" if expect_from else None)
    resumed = subprocess.run([sys.executable, "-m", "olmo_core.cli", "train", "--preset", "tiny",
                              *run_overrides(corpus_tokens, run_dir)], capture_output=True, text=True,
                             env={**os.environ, "WANDB_MODE": "offline"}, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    if expect_from:
        assert f"step{expect_from} at step {expect_from}" in resumed.stdout, resumed.stdout[-2000:]
    else:
        assert "resumed from" not in resumed.stdout
    assert not list((run_dir / "checkpoints").glob(".*partial"))  # the rewrite replaced the half-written one


def test_sigkill_inside_a_checkpoint_write_then_at_a_random_moment(corpus_tokens: Path, reference_run: Path,
                                                                   tmp_path: Path) -> None:
    """Kill 1 lands inside a checkpoint write (a seeded phase and step); the half-written checkpoint must not
    count. The resumed run is killed again at a seeded random moment (in a step or a write), and the last
    resume must still give the uninterrupted run's losses exactly."""
    seed = int(os.environ.get("OLMO_TEST_KILL_SEED", random.SystemRandom().randrange(2**31)))
    rng = random.Random(seed)
    phase, step = rng.choice(PHASES), rng.choice((3, 6))
    print(f"kill seed {seed} (replay: OLMO_TEST_KILL_SEED={seed}): kill 1 inside the step-{step} write, {phase}")
    run_dir = tmp_path / "run"
    proc = start_hooked(corpus_tokens, run_dir, tmp_path / "start1", pause=f"{phase}:{step}")
    wait_for(tmp_path / "start1.paused", proc)
    kill(proc)
    half = run_dir / "checkpoints" / f".step{step}.partial"
    assert half.is_dir() and (half / "manifest.json").exists() == (phase == "manifest_written")
    resume_from = 3 if step == 6 else 0
    assert finished_steps(run_dir) == ([3] if step == 6 else [])  # the half-written one is not a checkpoint
    latest = latest_checkpoint(run_dir)
    assert (latest.name if latest else None) == ("step3" if resume_from else None)

    # Kill 2: the resumed run, at a random moment before it can finish (the sleeps left: its steps and the
    # three phases of each checkpoint write left, 3 and 6 and the final 8).
    left = (8 - resume_from) * SLOW + 3 * SLOW * sum(s > resume_from for s in (3, 6, 8))
    delay = rng.uniform(0.0, 0.95 * left)
    proc = start_hooked(corpus_tokens, run_dir, tmp_path / "start2")
    wait_for(tmp_path / "start2", proc)
    assert (tmp_path / "start2").read_text() == str(resume_from)  # it resumed where it should have
    time.sleep(delay)
    kill(proc)
    done = finished_steps(run_dir)
    partial = sorted(p.name for p in (run_dir / "checkpoints").glob(".*partial"))
    print(f"kill 2 {delay:.2f}s into the resumed run: finished checkpoints {done}, half-written {partial}")
    assert set(done) <= {3, 6}
    resume_to_the_end(corpus_tokens, run_dir, max(done, default=None))
    assert_same_curve(reference_run, run_dir)


def test_a_converted_checkpoint_without_data_position_continues_the_data_order(
        corpus_tokens: Path, reference_run: Path, tmp_path: Path) -> None:
    """A checkpoint as ``olmo-core convert from-olmo-core`` writes it (weights, optimizer, step; no data
    position, no scheduler state) resumes through ``trainer.resume=PATH`` and, with the weights and
    optimizer of the reference run's step 3, continues that run's loss curve exactly."""
    import torch

    from olmo_core.checkpoint.manager import CheckpointManager
    from olmo_core.config.load import run_preset

    cfg = run_preset("tiny", run_overrides(corpus_tokens, tmp_path / "unused"))
    model = cfg.model.build()
    optimizer = cfg.optim.build(model)
    step = min(int(p.name.removeprefix("step")) for p in (reference_run / "checkpoints").glob("step*"))
    assert step < 8
    CheckpointManager.load(reference_run / "checkpoints" / f"step{step}", model=model, optimizer=optimizer)
    converted = tmp_path / "converted"
    path = CheckpointManager(converted, cfg.trainer.checkpoint).save(
        step, model=model, optimizer=optimizer, config={},
        trainer_state={"step": step, "tokens_seen": 0, "data": None, "scheduler": {}, "spikes": {}, "callbacks": [],
                       "callback_names": []})
    assert torch.load(path / "train" / "trainer.pt", weights_only=True)["data"] is None

    run_dir = tmp_path / "resumed"
    resumed = subprocess.run([sys.executable, "-m", "olmo_core.cli", "train", "--preset", "tiny",
                              *run_overrides(corpus_tokens, run_dir), f"trainer.resume={path}"],
                             capture_output=True, text=True, env={**os.environ, "WANDB_MODE": "offline"}, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"the data order continues at step {step}" in resumed.stdout
    straight = {r["step"]: r for r in read_metrics(reference_run / "metrics.jsonl")}
    again = read_metrics(run_dir / "metrics.jsonl")
    assert [r["step"] for r in again] == list(range(step + 1, 9))
    for r in again:
        for key in ("train/loss", "optim/grad_norm", "optim/lr", "data/batch_digest"):
            assert r[key] == straight[r["step"]][key], (r["step"], key)
