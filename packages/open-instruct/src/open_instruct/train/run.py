"""An SFT or DPO run: data, (reference cache,) model, olmo-core Trainer, summary.

The loop is olmo-core's ``Trainer``; this module only supplies what differs from pretraining: the
batch source (``PackedBatches``), the loss object (``SFTLoss`` / ``DPOLoss``) and, for DPO, the
reference log-probs, computed once from the starting checkpoint before the policy is built."""

from __future__ import annotations

import dataclasses
import functools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from olmo_core.checkpoint.manager import CheckpointManager, latest_checkpoint
from olmo_core.checkpoint.model_io import read_model_config
from olmo_core.checkpoint.rng import seed_all
from olmo_core.distributed.utils import barrier, get_rank, get_world_size, init_distributed, is_main_process
from olmo_core.fileio import write_json_atomic
from olmo_core.interfaces import CHECKPOINT_FORMAT_NAME, validate_checkpoint
from olmo_core.model.config import ModelConfig
from olmo_core.model.presets import MODEL_PRESETS, get_model_preset
from olmo_core.train.callbacks.metrics_jsonl import read_metrics
from open_instruct.data.cache import default_cache_dir, load_tokenized
from open_instruct.data.tokenize import TokenizedData
from open_instruct.evaluate import accuracy_from_logps, pair_logps, paired_comparison
from open_instruct.losses.dpo import needs_reference
from open_instruct.ref_cache import ReferenceLogps, reference_logps
from open_instruct.tokenizer import load_tokenizer
from open_instruct.train.batches import PackedBatches
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


def _shared_reference(model: torch.nn.Module, data: TokenizedData, cfg: InstructRunConfig, cache: Path) -> ReferenceLogps:
    # Rank 0 computes and writes the cache; the others then read the same file.
    ref = None
    if is_main_process():
        ref = reference_logps(model, data, cache, max_length=cfg.data.max_length,
                              rows_per_batch=cfg.dpo.reference_rows_per_batch, progress=True)
    barrier()
    if ref is None:
        ref = reference_logps(model, data, cache, max_length=cfg.data.max_length,
                              rows_per_batch=cfg.dpo.reference_rows_per_batch)
    return ref


def run(cfg: InstructRunConfig) -> dict[str, Any]:
    device = init_distributed()
    seed_all(cfg.trainer.seed)  # Python's and NumPy's too: a checkpoint's RNG files are the same for every run
    main = is_main_process()
    log = print if main else (lambda *a, **k: None)
    tokenizer = load_tokenizer(cfg.data.tokenizer)
    cache = Path(cfg.data.cache_dir) if cfg.data.cache_dir else default_cache_dir()
    kind = cfg.kind
    load = functools.partial(load_tokenized, kind, list(cfg.data.sources), tokenizer, template=cfg.data.template,
                             max_length=cfg.data.max_length, seed=cfg.data.seed, cache_dir=cache,
                             exclude=list(cfg.data.exclude))
    # Rank 0 tokenizes and writes the cache; the others then read that entry.
    if main:
        data, stats = load(log=log)
    barrier()
    if not main:
        data, stats = load()
    log(stats.table())
    full_data = data
    data, heldout = split_holdout(full_data, cfg.data.holdout)

    model_cfg, ckpt = resolve_init(cfg.init_from)
    if model_cfg.max_sequence_length < cfg.data.max_length:
        raise ValueError(f"data.max_length={cfg.data.max_length} exceeds the model's max_sequence_length "
                         f"{model_cfg.max_sequence_length}")
    summary: dict[str, Any] = {"kind": kind, "init_from": str(ckpt or cfg.init_from), "units": data.num_examples,
                               "heldout": int(len(heldout)), "mix": stats.to_dict()}
    reference = None
    if kind == "dpo":
        start = load_model(model_cfg, ckpt, device, cfg.init_seed)
        if needs_reference(cfg.dpo.loss):
            reference = _shared_reference(start, data, cfg, cache / "reference")
        if len(heldout):
            logps_before = pair_logps(start, full_data, heldout, max_length=cfg.data.max_length)
            summary["heldout_before"] = accuracy_from_logps(*logps_before)
            log(f"held-out preference accuracy before DPO: {summary['heldout_before']['accuracy']:.3f}")
        del start

    batches = PackedBatches(data, global_batch_size=cfg.batch.global_batch_size,
                            micro_batch_size=cfg.batch.micro_batch_size, max_length=cfg.data.max_length,
                            seed=cfg.data.seed, epochs=cfg.batch.epochs, shuffle=cfg.batch.shuffle,
                            pad_id=tokenizer.pad_token_id, rank=get_rank(), world_size=get_world_size(),
                            reference=reference)
    max_steps = batches.steps_per_epoch * cfg.batch.epochs
    if cfg.trainer.max_steps is None or cfg.trainer.max_steps <= 0:
        cfg.trainer.max_steps = max_steps
    cfg.optim.scheduler.warmup_steps = int(math.ceil(cfg.warmup_ratio * cfg.trainer.max_steps))
    if ckpt is not None and not cfg.trainer.load_path:
        cfg.trainer.load_path = str(ckpt)

    # Preparation draws from the global generators only when it builds (a tokenized or reference cache
    # miss draws where a hit does not): training starts from the seed's state whatever it did, so a
    # resumed run's checkpoints carry the same RNG states as an uninterrupted run's.
    seed_all(cfg.trainer.seed)
    model = cfg.parallel.build(model_cfg, device, init_seed=cfg.init_seed)
    run_dir = Path(cfg.trainer.run_dir)
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(run_dir / "mix_stats.json", stats.to_dict())
    trainer = cfg.trainer.build(model=model, optimizer=cfg.optim.build(model), loss_fn=cfg.build_loss(),
                                loader=batches, optim_cfg=cfg.optim, parallel_cfg=cfg.parallel, device=device,
                                run_config={**dataclasses.asdict(cfg), "model": model_cfg.to_dict()},
                                seq_len=cfg.data.max_length)
    last = trainer.fit() or (logged_metrics(run_dir, trainer.step) if main else {})
    summary.update({"steps": trainer.step, "final_loss": last.get("train/loss"),
                    "checkpoint": str(trainer.last_checkpoint or latest_checkpoint(run_dir) or "")})
    summary["final_metrics"] = {k: v for k, v in last.items() if isinstance(v, int | float)}
    if kind == "dpo" and len(heldout):
        final = load_model(model_cfg, Path(summary["checkpoint"]), device) if summary["checkpoint"] else model
        logps_after = pair_logps(final, full_data, heldout, max_length=cfg.data.max_length)
        summary["heldout_after"] = accuracy_from_logps(*logps_after)
        margins = [s[:, 0] - s[:, 1] for s, _ in (logps_before, logps_after)]
        summary["heldout_paired"] = paired = paired_comparison(*margins)
        b, a = summary["heldout_before"]["accuracy"], summary["heldout_after"]["accuracy"]
        log(f"held-out preference accuracy ({len(heldout)} pairs): start (SFT) {b:.3f} -> DPO {a:.3f} "
            f"({paired['gained']} pairs gained, {paired['lost']} lost, McNemar p = {paired['p_value']:.3g})")
    if main:
        write_json_atomic(run_dir / "summary.json", summary)
    return summary
