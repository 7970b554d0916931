"""``open-instruct sft`` and ``open-instruct dpo`` killed (SIGKILL) inside their writes and at seeded
random moments, then resumed: the per-step metrics (losses, gradient norms, batch digests) are
bit-identical to an uninterrupted run's, the final weights, optimizer state and RNG states byte-identical, the
summary the same, and no temporary is left behind.

Both run from a small olmo-core checkpoint (the tiny model the open-instruct tests use, d_model 64,
two layers) on real slices of ``../shared/data/instruct``; DPO starts from the uninterrupted SFT run's
final checkpoint, as the demo does, and holds pairs out (so the held-out accuracy before and after is
part of what must survive). Each run is one epoch (SFT 4 optimizer steps, DPO 3) with a checkpoint every
2 steps and at the end, so a kill can land before the first checkpoint, between checkpoints, inside a
checkpoint write and after the last one.

Fault sites: ``cache.before_rename`` (the tokenized cache, complete but not yet renamed into place)
and ``atomic.before_rename`` (every ``olmo_core.fileio`` write: run config, mix statistics,
checkpoint files and folders, the reference log-prob cache, the summary), plus seeded random kills.
Seeds and kills are printed (``-s``) and counted in packages/open-instruct/README.md."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
import torch

from .harness import chaos_run, leftover_temporaries, timed_run, tree_digest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "packages" / "open-instruct" / "tests"))
from instruct_data import head, write_jsonl  # noqa: E402  (the open-instruct tests' slices of the shared data)

#: chaos seeds; the fault sites are listed in the test bodies
SFT_SEED, DPO_SEED = 2211, 2212
#: A killed run's successor resumes and ends sooner than an uninterrupted run (measured: 40-60%), so the
#: random delays are drawn against this share of the uninterrupted time, or most would land after the end.
RESUMED_SHARE = 0.6


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OLMO_STACK_FAULT"}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", WANDB_MODE="offline", TOKENIZERS_PARALLELISM="false",
               PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The starting checkpoint and the data slices."""
    from olmo_core.checkpoint.model_io import save_model_checkpoint
    from olmo_core.model.config import ModelConfig

    root = tmp_path_factory.mktemp("adapt_inputs")
    torch.manual_seed(0)
    model = ModelConfig(d_model=64, n_layers=2, n_heads=4, mlp_hidden_size=128, max_sequence_length=256).build()
    model.init_weights(0)
    save_model_checkpoint(model, root / "init")
    write_jsonl(root / "sft.jsonl", head("sft.jsonl.zst", 32))
    write_jsonl(root / "dpo.jsonl", head("dpo.jsonl.zst", 40))
    return root


def _argv(kind: str, inputs: Path, init: Path, run_dir: Path) -> list[str]:
    data = [f"data.sources=[{inputs / 'sft.jsonl'}]", "data.exclude=[]"] if kind == "sft" else \
        [f"data.sources=[{inputs / 'dpo.jsonl'}]", "data.holdout=8"]
    # The cache lives in the run folder, so a killed run also has to rebuild it (and its writes are hit).
    return [sys.executable, "-m", "open_instruct.cli", kind, "--preset", f"tiny_{kind}", f"init_from={init}", *data,
            "data.max_length=256", f"data.cache_dir={run_dir / 'cache'}", f"trainer.run_dir={run_dir}",
            "batch.global_batch_size=8", "batch.micro_batch_size=4", "batch.epochs=1",
            "trainer.checkpoint.every=2",
            "~trainer.callbacks.loss_plot", "~trainer.callbacks.speed"]


def _metrics(run_dir: Path) -> list[dict]:
    # Parsed with json (no cut-line tolerance): a resumed run must leave a clean file.
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def _summary(run_dir: Path) -> dict:
    return json.loads((run_dir / "summary.json").read_text().replace(str(run_dir), "<run>"))


def _final_state(run_dir: Path, steps: int) -> dict[str, str]:
    """Digests of the final checkpoint's files: weights, optimizer tensors, trainer state, RNG states.
    Left out, with why: ``config.json`` (and the manifest holding its hash) name the run folder, and
    DCP's ``train/optim/.metadata`` records the folder it was written to and a random save id."""
    return tree_digest(run_dir / "checkpoints" / f"step{steps}",
                       ignore=["config.json", "manifest.json", "train/optim/.metadata"])


def _assert_resumed_equals(base: Path, chaos: Path) -> None:
    steps = _summary(base)["steps"]  # one epoch: 4 SFT steps; 3 DPO steps (pairs too long are dropped)
    assert steps >= 3
    a, b = _metrics(base), _metrics(chaos)
    assert [r["step"] for r in a] == list(range(1, steps + 1))
    assert [r["step"] for r in b] == [r["step"] for r in a], "the resumed run's metric history has gaps or repeats"
    for ra, rb in zip(a, b, strict=True):
        # exact float equality: a JSON float round-trips, so equal here means bit-identical losses
        assert ra == rb, f"step {ra['step']} differs after resuming:\n{ra}\n{rb}"
    sa, sb = _final_state(base, steps), _final_state(chaos, steps)
    assert {"model.safetensors", "train/trainer.pt", "train/rank0.pt", "train/optim/__0_0.distcp"} <= sa.keys()
    assert sa == sb, "final weights or optimizer state differ after resuming"
    assert _summary(base) == _summary(chaos)
    assert sorted(p.name for p in (chaos / "checkpoints").iterdir()) == \
        sorted(p.name for p in (base / "checkpoints").iterdir()), "a half-written checkpoint folder is left"
    assert leftover_temporaries(chaos) == [], "a killed writer's temporary is left behind"


@pytest.fixture(scope="module")
def sft_baseline(inputs: Path) -> tuple[Path, float]:
    run_dir = inputs / "sft_base"
    seconds = timed_run(_argv("sft", inputs, inputs / "init", run_dir), env=_env(), timeout=600)
    return run_dir, seconds


def test_sft_survives_kills(inputs: Path, sft_baseline: tuple[Path, float]) -> None:
    base, seconds = sft_baseline
    chaos = inputs / "sft_chaos"
    report = chaos_run(_argv("sft", inputs, inputs / "init", chaos), seed=SFT_SEED, duration=RESUMED_SHARE * seconds,
                       random_kills=1, env=_env(), timeout=600,
                       # the tokenized cache complete but not renamed; then, in the rerun, the 4th
                       # olmo_core.fileio rename (mix stats, run config, a checkpoint's config, manifest...)
                       fault_sites=["cache.before_rename:1", "atomic.before_rename:4"])
    assert report.kills >= 2, str(report)
    _assert_resumed_equals(base, chaos)


def test_dpo_survives_kills(inputs: Path, sft_baseline: tuple[Path, float]) -> None:
    init = sft_baseline[0]  # a run folder: its latest checkpoint
    base = inputs / "dpo_base"
    seconds = timed_run(_argv("dpo", inputs, init, base), env=_env(), timeout=600)
    chaos = inputs / "dpo_chaos"
    report = chaos_run(_argv("dpo", inputs, init, chaos), seed=DPO_SEED, duration=RESUMED_SHARE * seconds, random_kills=1,
                       env=_env(), timeout=600,
                       # the reference log-prob cache or the run config (2nd rename), then a checkpoint write
                       fault_sites=["atomic.before_rename:2", "atomic.before_rename:6"])
    assert report.kills >= 2, str(report)
    summary = _summary(chaos)
    assert summary["heldout_before"]["pairs"] == summary["heldout_after"]["pairs"] == 8
    _assert_resumed_equals(base, chaos)
