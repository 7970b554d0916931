"""What every method's run (``sft``, ``dpo``, ``grpo``) shares: where it starts from, its data, the
olmo-core ``Trainer`` it builds and fits, and the summary it writes.

A method's ``run(cfg)`` reads as: :func:`start` (distributed, seeds, tokenizer, cache), :func:`load_data`,
:func:`resolve_init`, its own preparation (DPO: the reference log-probs), :func:`fit` (the model,
optimizer, loss and loader on olmo-core's Trainer, with the config's callbacks) and
:func:`write_summary`."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from olmo_core.checkpoint.manager import CheckpointManager, latest_checkpoint
from olmo_core.checkpoint.model_io import read_model_config
from olmo_core.checkpoint.rng import seed_all
from olmo_core.distributed.utils import barrier, init_distributed, is_main_process
from olmo_core.fileio import write_json_atomic
from olmo_core.interfaces import CHECKPOINT_FORMAT_NAME, validate_checkpoint
from olmo_core.model.config import ModelConfig
from olmo_core.model.presets import MODEL_PRESETS, get_model_preset
from olmo_core.train.callbacks.metrics_jsonl import read_metrics
from olmo_core.train.trainer import BatchLoader, Trainer
from open_instruct.data.cache import default_cache_dir, load_tokenized
from open_instruct.data.mixing import MixStats
from open_instruct.data.tokenize import TokenizedData
from open_instruct.tokenizer import ChatTokenizer, load_tokenizer
from open_instruct.train.config import InstructRunConfig


def resolve_init(init_from: str) -> tuple[ModelConfig, Path | None]:
    """(model config, checkpoint folder or None) for a checkpoint, a run folder or a preset name."""
    p = Path(init_from)
    if p.is_dir():
        ckpt = p if _is_checkpoint(p) else latest_checkpoint(p)
        if ckpt is None:
            if (p / "manifest.json").is_file():  # a checkpoint, but damaged: say what is wrong with it
                validate_checkpoint(p)
            raise FileNotFoundError(f"init_from={init_from}: no manifest.json and no valid checkpoint under "
                                    f"{p / 'checkpoints'}")
        return read_model_config(ckpt), ckpt
    if init_from in MODEL_PRESETS:
        return get_model_preset(init_from), None
    raise FileNotFoundError(f"init_from={init_from!r}: neither a checkpoint/run folder nor a model preset "
                            f"({', '.join(MODEL_PRESETS)})")


def _is_checkpoint(folder: Path) -> bool:
    # A run folder may hold a manifest of its own (an olmo-stack stage's): only an olmo-core
    # checkpoint manifest makes the folder itself the checkpoint.
    try:
        return json.loads((folder / "manifest.json").read_text()).get("format") == CHECKPOINT_FORMAT_NAME
    except (OSError, ValueError, AttributeError):
        return False


def load_model(model_cfg: ModelConfig, ckpt: Path | None, device: torch.device, seed: int = 0) -> torch.nn.Module:
    """An unwrapped model with the checkpoint's weights (or a fresh init from ``seed``)."""
    model = model_cfg.build(init_device=device)
    model.init_weights(seed)
    if ckpt is not None:
        CheckpointManager.load(ckpt, model=model, optimizer=None)
    return model


def logged_metrics(run_dir: Path, step: int) -> dict[str, Any]:
    """Step ``step``'s metrics as ``metrics.jsonl`` recorded them (empty if it did not).

    A run killed after its final checkpoint but before its summary resumes at ``max_steps`` and takes
    no step, so ``Trainer.fit`` has no last metrics to return; the summary must still report the
    final loss the uninterrupted run reported."""
    path = Path(run_dir) / "metrics.jsonl"
    if step <= 0 or not path.is_file():
        return {}
    rows = [r for r in read_metrics(path) if r.get("step") == step]
    return {k: v for k, v in rows[-1].items() if k != "step"} if rows else {}


def split_holdout(data: TokenizedData, holdout: int) -> tuple[TokenizedData, np.ndarray]:
    """Training data without the last ``holdout`` units, and those units' indices in ``data``."""
    if holdout <= 0:
        return data, np.zeros(0, dtype=np.int64)
    if holdout >= data.num_examples:
        raise ValueError(f"data.holdout={holdout} leaves nothing to train on ({data.num_examples} units)")
    n = data.num_examples - holdout
    seqs = n * data.group_size
    end = int(data.offsets[seqs])
    train = TokenizedData(data.kind, data.input_ids[:end], data.labels[:end], data.offsets[:seqs + 1],
                          data.source[:seqs], dict(data.meta))
    return train, np.arange(n, data.num_examples)


@dataclass
class RunContext:
    """What :func:`start` sets up for a run: the device, whether this is rank 0 (and a ``log`` that
    prints only there), the tokenizer and the cache folder (tokenized data, reference log-probs)."""

    device: torch.device
    main: bool
    log: Callable[..., None]
    tokenizer: ChatTokenizer
    cache: Path


def start(cfg: InstructRunConfig) -> RunContext:
    """Distributed set-up (gloo/nccl, or a single process), the seeds, the tokenizer and the cache."""
    device = init_distributed()
    seed_all(cfg.trainer.seed)  # Python's and NumPy's too: a checkpoint's RNG files are the same for every run
    main = is_main_process()
    log: Callable[..., None] = print if main else (lambda *a, **k: None)
    cache = Path(cfg.data.cache_dir) if cfg.data.cache_dir else default_cache_dir()
    return RunContext(device, main, log, load_tokenizer(cfg.data.tokenizer), cache)


def load_data(cfg: InstructRunConfig, ctx: RunContext, kind: str | None = None) -> tuple[TokenizedData, MixStats]:
    """The config's mix, tokenized as ``kind`` (default ``cfg.kind``) through the tokenized cache;
    rank 0 tokenizes and writes the cache entry, the others then read it. Prints the mix table."""
    load = functools.partial(load_tokenized, kind or cfg.kind, list(cfg.data.sources), ctx.tokenizer,
                             template=cfg.data.template, max_length=cfg.data.max_length, seed=cfg.data.seed,
                             cache_dir=ctx.cache, exclude=list(cfg.data.exclude))
    if ctx.main:
        data, stats = load(log=ctx.log)
    barrier()
    if not ctx.main:
        data, stats = load()
    ctx.log(stats.table())
    return data, stats


def init_model_config(cfg: InstructRunConfig) -> tuple[ModelConfig, Path | None]:
    """:func:`resolve_init` of ``cfg.init_from``, refusing a model shorter than ``data.max_length``."""
    model_cfg, ckpt = resolve_init(cfg.init_from)
    if model_cfg.max_sequence_length < cfg.data.max_length:
        raise ValueError(f"data.max_length={cfg.data.max_length} exceeds the model's max_sequence_length "
                         f"{model_cfg.max_sequence_length}")
    return model_cfg, ckpt


def set_schedule(cfg: InstructRunConfig, steps: int, ckpt: Path | None) -> None:
    """``trainer.max_steps`` (when unset: ``steps``), warmup from ``warmup_ratio``, and the starting
    weights (``trainer.load_path``) from the resolved checkpoint."""
    if cfg.trainer.max_steps is None or cfg.trainer.max_steps <= 0:
        cfg.trainer.max_steps = steps
    cfg.optim.scheduler.warmup_steps = int(math.ceil(cfg.warmup_ratio * cfg.trainer.max_steps))
    if ckpt is not None and not cfg.trainer.load_path:
        cfg.trainer.load_path = str(ckpt)


@dataclass
class FitResult:
    trainer: Trainer
    model: torch.nn.Module
    #: the last step's metrics (from metrics.jsonl when the run resumed at its end and took no step)
    last: dict[str, Any]

    def summary(self, run_dir: Path) -> dict[str, Any]:
        """steps, final loss, final checkpoint and final numeric metrics: every method's summary keys."""
        last = self.last
        out = {"steps": self.trainer.step, "final_loss": last.get("train/loss"),
               "checkpoint": str(self.trainer.last_checkpoint or latest_checkpoint(run_dir) or ""),
               "final_metrics": {k: v for k, v in last.items() if isinstance(v, int | float)}}
        if (verified := heldout_verified(self.trainer)) is not None:
            out["heldout_verified"] = verified
        return out


def heldout_verified(trainer: Trainer) -> dict[str, Any] | None:
    """The last result of the trainer's ``heldout_verified`` callback (None without one)."""
    from open_instruct.callbacks.heldout_eval import HeldoutVerified

    for cb in trainer.callbacks:
        if isinstance(cb, HeldoutVerified) and cb.result is not None:
            return cb.result
    return None


def fit(cfg: InstructRunConfig, ctx: RunContext, model_cfg: ModelConfig, *, loader: BatchLoader, loss_fn: Any,
        stats: MixStats | None = None, extra_callbacks: list[Any] | None = None) -> FitResult:
    """Build the model, optimizer and olmo-core ``Trainer`` (the config's callbacks, by name) and fit.

    Preparation draws from the global generators only when it builds (a tokenized or reference cache
    miss draws where a hit does not): training starts from the seed's state whatever it did, so a
    resumed run's checkpoints carry the same RNG states as an uninterrupted run's."""
    import open_instruct.callbacks  # noqa: F401  (registers open-instruct's callbacks, heldout_verified, by name)

    seed_all(cfg.trainer.seed)
    model = cfg.parallel.build(model_cfg, ctx.device, init_seed=cfg.init_seed)
    run_dir = Path(cfg.trainer.run_dir)
    if ctx.main:
        run_dir.mkdir(parents=True, exist_ok=True)
        if stats is not None:
            write_json_atomic(run_dir / "mix_stats.json", stats.to_dict())
    trainer = cfg.trainer.build(model=model, optimizer=cfg.optim.build(model), loss_fn=loss_fn, loader=loader,
                                optim_cfg=cfg.optim, parallel_cfg=cfg.parallel, device=ctx.device,
                                run_config={**dataclasses.asdict(cfg), "model": model_cfg.to_dict()},
                                seq_len=cfg.data.max_length, extra_callbacks=list(extra_callbacks or ()))
    last = trainer.fit() or (logged_metrics(run_dir, trainer.step) if ctx.main else {})
    return FitResult(trainer, model, last)


def write_summary(cfg: InstructRunConfig, ctx: RunContext, summary: dict[str, Any]) -> dict[str, Any]:
    """``<run_dir>/summary.json`` (rank 0, atomically); returns ``summary``."""
    if ctx.main:
        write_json_atomic(Path(cfg.trainer.run_dir) / "summary.json", summary)
    return summary
