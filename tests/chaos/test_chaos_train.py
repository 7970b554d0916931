"""Kill the model commands (``olmo-core train``, ``olmoe train``, ``olmo-core convert to-hf``) inside their
checkpoint and export writes and at seeded random moments, resume them, and require what an uninterrupted
run gives: the same per-step losses bit for bit, byte-identical final weights and optimizer state, an
identical HF folder, no temporary left behind, and never a resume from a half-written checkpoint
(issue 22). Then a checkpoint write on a full disk (a small tmpfs): one line naming the checkpoint, the
previous checkpoint intact, and a later run (with room again) resumes from it.

Fault sites (``OLMO_STACK_FAULT=site:n``): ``checkpoint.shard`` after each part of a checkpoint (weights,
train state: optimizer, RNG and trainer, config: three per checkpoint), ``checkpoint.before_commit`` with the
checkpoint complete, manifest and all, but not yet renamed to ``step<N>``, ``convert.file`` between the files
of an HF export and ``atomic.before_rename`` before the export's folder is renamed into place.

Every attempt's output is appended to ``attempts.log`` (one ``== attempt`` line each), so the test can see
where each resumed run started. Seeds are fixed per case and printed with every kill; the counts are in
the olmo-core README, section Faults."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from .harness import FAULT_ENV, chaos_run, leftover_temporaries, timed_run, tmpfs, tree_digest

TOKENIZER = "tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json"
#: 10 steps of 4 x 32 tokens on a 2-layer d_model-64 model, a checkpoint every 3 steps (3, 6, 9) and at
#: the end (10); keep_last=2 leaves step9 and step10. No loss plot (matplotlib would double the start-up).
RUN = ["model.d_model=64", "model.n_heads=4", "model.mlp_hidden_size=192", "model.n_layers=2", "data.seq_len=32",
       "data.global_batch_size=4", "data.micro_batch_size=4", "trainer.max_steps=10", "trainer.checkpoint.every=3",
       "optim.scheduler.warmup_steps=2", "optim.lr=1e-2", "~trainer.callbacks.loss_plot"]
MOE_RUN = ["model=olmoe_tiny", "model.d_model=64", "model.n_heads=4", "model.n_layers=1", "data.seq_len=32",
           "data.global_batch_size=4", "data.micro_batch_size=4", "trainer.max_steps=6",
           "trainer.checkpoint.every=2", "optim.scheduler.warmup_steps=2", "optim.lr=1e-2",
           "~trainer.callbacks.loss_plot"]
#: what must match bit for bit at every step
CURVE_KEYS = ("train/loss", "optim/grad_norm", "optim/lr", "data/batch_digest")
#: per checkpoint, the files that must be byte-identical: weights, optimizer state (DCP), RNG states, the
#: trainer's state (step, data position, scheduler, callbacks); config.json differs only in the run's folder
SAME_FILES = ("model.safetensors", "train/optim/__0_0.distcp", "train/rank0.pt", "train/trainer.pt")
RESUMED = re.compile(r"resumed from (\S+) at step (\d+)")


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
    env.update(TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", WANDB_MODE="offline")
    # Each child imports torch afresh; where the environment forbids bytecode caching
    # (PYTHONDONTWRITEBYTECODE) it would recompile torch's Python on every start (~7 s): compile once,
    # into a cache outside the checkout.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(Path.home() / ".cache" / "olmo-stack" / "pycache")
    return env


def train_argv(cli: str, tokens: Path, run_dir: Path, run: list[str]) -> list[str]:
    return [sys.executable, "-m", f"{cli}.cli", "train", "--preset", "tiny", f"data.paths=[{tokens}]",
            f"trainer.run_dir={run_dir}", *run]


def logged(log: Path, argv: list[str]) -> list[str]:
    """``argv`` with its output appended to ``log`` after a ``== attempt`` line (exec: the kill still
    reaches the command itself)."""
    return ["sh", "-c", 'echo "== attempt" >>"$0"; exec "$@" >>"$0" 2>&1', str(log), *argv]


def attempts(log: Path) -> list[str]:
    return log.read_text().split("== attempt\n")[1:]


def resumed_step(output: str) -> int | None:
    """The step an attempt resumed at (None: it started from scratch or was killed before it decided)."""
    m = RESUMED.search(output)
    if m is None:
        return None
    assert Path(m.group(1)).name == f"step{m.group(2)}", f"resumed from something not a checkpoint: {m.group(0)}"
    return int(m.group(2))


def curve(run_dir: Path) -> list[dict]:
    from olmo_core.train.callbacks.metrics_jsonl import read_metrics

    return [{k: r[k] for k in ("step", *CURVE_KEYS)} for r in read_metrics(run_dir / "metrics.jsonl")]


def assert_same_run(reference: Path, run_dir: Path, steps: int) -> None:
    """Bit-identical losses, gradient norms, learning rates and batches at every step; the same checkpoints
    holding byte-identical weights, optimizer state and RNG state; nothing left half-written."""
    ref_curve, got = curve(reference), curve(run_dir)
    assert [r["step"] for r in got] == list(range(1, steps + 1)) == [r["step"] for r in ref_curve]
    for a, b in zip(ref_curve, got):
        assert a == b, f"step {a['step']} differs after the kills:\n  uninterrupted {a}\n  resumed       {b}"
    assert ref_curve[-1]["train/loss"] < ref_curve[0]["train/loss"]  # it trained
    ckpts = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert ckpts == sorted(p.name for p in (reference / "checkpoints").iterdir()), ckpts
    for name in ckpts:
        a, b = tree_digest(reference / "checkpoints" / name), tree_digest(run_dir / "checkpoints" / name)
        assert a.keys() == b.keys(), (name, sorted(a.keys() ^ b.keys()))
        for rel in SAME_FILES:
            assert a[rel] == b[rel], f"{name}/{rel} differs from the uninterrupted run's"
        configs = [(d / "checkpoints" / name / "config.json").read_text().replace(str(d), "<run>")
                   for d in (reference, run_dir)]
        assert configs[0] == configs[1], f"{name}/config.json differs beyond the run's folder"
    assert leftover_temporaries(run_dir) == [], "temporaries left after the final run"
    from olmo_core.checkpoint.manager import latest_checkpoint

    assert latest_checkpoint(run_dir) == run_dir / "checkpoints" / f"step{steps}"


def assert_sites_reached(report) -> None:  # type: ignore[no-untyped-def]
    missed = [a.how for a in report.attempts if a.how.startswith("site:") and not a.killed]
    assert not missed, f"fault sites never reached: {missed}\n{report}"


@pytest.fixture(scope="module")
def tokens(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``dolma-tools tokens`` output for 40 real documents (books and code): about 160k tokens."""
    import io
    import json

    import zstandard

    from dolma_tools.tokens import tokenize_files

    root = tmp_path_factory.mktemp("chaos_train")
    docs = []
    for source in ("books", "code"):
        path = sorted((shared_data / "corpus" / source).glob("*.jsonl.zst"))[0]
        with open(path, "rb") as f:
            text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
            docs += [json.loads(line) for _, line in zip(range(20), text)]
    (root / "docs").mkdir()
    (root / "docs" / "part.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    tokenize_files(root / "docs", root / "tokens", tokenizer=shared_data / TOKENIZER)
    return root / "tokens"


@pytest.fixture(scope="module")
def dense_reference(tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    run_dir = tmp_path_factory.mktemp("ref_train") / "run"
    seconds = timed_run(train_argv("olmo_core", tokens, run_dir, RUN), env=child_env(), timeout=300)
    return run_dir, seconds


def test_train_killed_inside_checkpoint_writes_resumes_bit_identically(tokens: Path, dense_reference, tmp_path: Path
                                                                       ) -> None:
    reference, seconds = dense_reference
    run_dir, log = tmp_path / "run", tmp_path / "attempts.log"
    seed = 2231
    # kill 1: inside the step-3 write, weights and train state (optimizer, RNG) written, config and manifest not;
    # kill 2: the run starts over, finishes step 3, and dies with step 6 complete but not renamed
    report = chaos_run(logged(log, train_argv("olmo_core", tokens, run_dir, RUN)), seed=seed, duration=seconds,
                       random_kills=2, fault_sites=["checkpoint.shard:2", "checkpoint.before_commit:2"],
                       env=child_env(), timeout=300)
    assert_sites_reached(report)
    outs = attempts(log)
    assert len(outs) == len(report.attempts)
    steps = [resumed_step(o) for o in outs]
    print(f"train: {report.kills} kills survived (seed {seed}, uninterrupted run {seconds:.2f}s); "
          f"resumed at {steps}")
    # Nothing was finished when kill 1 landed, so the second run starts from scratch; the next run that got
    # as far as resuming must take step 3, never the complete-looking but unrenamed step 6.
    assert steps[1] is None and "removed" in outs[1] and ".step3.partial" in outs[1]
    later = [s for s in steps[2:] if s is not None]
    assert later and later[0] == 3, steps
    assert ".step6.partial: a checkpoint write that did not finish" in "".join(outs[2:])
    assert later == sorted(later) and all(s in (3, 6, 9, 10) for s in later), steps
    assert_same_run(reference, run_dir, 10)


def test_moe_train_killed_inside_a_checkpoint_write_resumes_bit_identically(tokens: Path, tmp_path: Path) -> None:
    reference = tmp_path / "ref"
    seconds = timed_run(train_argv("olmoe", tokens, reference, MOE_RUN), env=child_env(), timeout=300)
    run_dir, log = tmp_path / "run", tmp_path / "attempts.log"
    seed = 2232
    # killed with step 4 complete but not renamed: the next run must resume from step 2
    report = chaos_run(logged(log, train_argv("olmoe", tokens, run_dir, MOE_RUN)), seed=seed, duration=seconds,
                       random_kills=1, fault_sites=["checkpoint.before_commit:2"], env=child_env(), timeout=300)
    assert_sites_reached(report)
    steps = [resumed_step(o) for o in attempts(log)]
    print(f"olmoe train: {report.kills} kills survived (seed {seed}, uninterrupted run {seconds:.2f}s); "
          f"resumed at {steps}")
    later = [s for s in steps[1:] if s is not None]
    assert later and later[0] == 2, steps
    assert_same_run(reference, run_dir, 6)
    from olmo_core.train.callbacks.metrics_jsonl import read_metrics

    # the MoE's own numbers too: its load-balancing loss and the routing metrics olmoe's callback logs
    moe_keys = ("train/aux/lb_loss", "moe/layer0/router_entropy", "moe/layer0/dead_experts")
    ref_rows, rows = read_metrics(reference / "metrics.jsonl"), read_metrics(run_dir / "metrics.jsonl")
    assert [[r[k] for k in moe_keys] for r in rows] == [[r[k] for k in moe_keys] for r in ref_rows]


def test_export_to_hf_killed_mid_write_leaves_no_folder_and_reruns_identically(dense_reference,
                                                                                tmp_path: Path) -> None:
    reference_run, _ = dense_reference
    ckpt = reference_run / "checkpoints" / "step10"

    def argv(out: Path) -> list[str]:
        return [sys.executable, "-m", "olmo_core.cli", "convert", "to-hf", str(ckpt), str(out), "--overwrite"]

    reference = tmp_path / "ref" / "hf"
    seconds = timed_run(argv(reference), env=child_env(), timeout=300)
    out = tmp_path / "export" / "hf"
    # Killed with the config and weights written, the tokenizer not: no "hf" folder, only a temporary.
    killed = subprocess.run(argv(out), env={**child_env(), FAULT_ENV: "convert.file:2"}, capture_output=True,
                            text=True, timeout=300, start_new_session=True)
    assert killed.returncode == -9, killed.stdout + killed.stderr
    assert not out.exists() and leftover_temporaries(out.parent) == [f".hf.tmp-{n}" for n in _tmp_pids(out)]
    assert (out.parent / f".hf.tmp-{_tmp_pids(out)[0]}" / "model.safetensors").is_file()

    seed = 2233
    # then killed with the folder complete but not renamed, and once at a random moment
    report = chaos_run(argv(out), seed=seed, duration=seconds, random_kills=1,
                       fault_sites=["atomic.before_rename:1"], env=child_env(), timeout=300)
    assert_sites_reached(report)
    print(f"convert to-hf: {report.kills + 1} kills survived (seed {seed}, uninterrupted run {seconds:.2f}s)")
    assert leftover_temporaries(out.parent) == []
    digest = tree_digest(out)
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= digest.keys()
    assert digest == tree_digest(reference)


def _tmp_pids(out: Path) -> list[str]:
    return sorted(p.name.rsplit("-", 1)[1] for p in out.parent.glob(f".{out.name}.tmp-*"))


# -- a full disk ---------------------------------------------------------------------------------------

#: one checkpoint of the RUN model takes ~40 MB (13 MB of weights, 27 MB of AdamW moments): the step-3
#: checkpoint fits, the step-6 one runs out of room in its optimizer state
DISK = "56m"


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    with tmpfs(tmp_path / "disk", DISK) as mount:
        yield mount


def test_checkpoint_on_a_full_disk_fails_in_one_line_and_the_previous_checkpoint_resumes(
        tokens: Path, dense_reference, small_disk: Path) -> None:
    from olmo_core.checkpoint.manager import list_checkpoints
    from olmo_core.interfaces import validate_checkpoint

    reference, _ = dense_reference
    run_dir = small_disk / "run"
    argv = train_argv("olmo_core", tokens, run_dir, RUN)
    full = subprocess.run(argv, env=child_env(), capture_output=True, text=True, timeout=300)
    assert full.returncode == 1, full.stdout[-2000:] + full.stderr[-3000:]
    assert "Traceback" not in full.stderr, full.stderr[-3000:]
    errors = [line for line in full.stderr.splitlines() if "error" in line.lower()]
    step3, step6 = run_dir / "checkpoints" / "step3", run_dir / "checkpoints" / "step6"
    line = (rf"olmo-core train: error: checkpoint {re.escape(str(step6))} not written: no space left on device "
            rf"\([\d,]+ bytes free\); the last complete checkpoint is {re.escape(str(step3))}")
    assert len(errors) == 1 and re.fullmatch(line, errors[0]), full.stderr[-3000:]
    print(f"full disk ({DISK}): {errors[0]}")
    # the failed write is gone; step 3 is whole (every file against its manifest's SHA-256)
    assert [p for _s, p in list_checkpoints(run_dir)] == [step3]
    assert sorted(p.name for p in (run_dir / "checkpoints").iterdir()) == ["step3"]
    validate_checkpoint(step3, verify_hashes=True)
    assert leftover_temporaries(run_dir) == []

    subprocess.run(["mount", "-o", "remount,size=256m", str(small_disk)], check=True)
    again = subprocess.run(argv, env=child_env(), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert resumed_step(again.stdout) == 3, again.stdout[-2000:]
    assert_same_run(reference, run_dir, 10)
