"""Preference tuning (DPO, dpo_norm, IPO, SimPO, hinge): :class:`DPOConfig` and :func:`run`.

Beyond SFT's run: the reference log-probs, computed once from the starting checkpoint before the
policy is built (and cached, so the reference model is not kept in memory), and the held-out
preference accuracy of the starting and the final model on the same pairs (exact McNemar test)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from olmo_core.distributed.utils import barrier, get_rank, get_world_size, is_main_process
from olmo_core.train.trainer import TrainerConfig
from open_instruct.data.tokenize import TokenizedData
from open_instruct.evaluate import accuracy_from_logps, pair_logps, paired_comparison
from open_instruct.losses.dpo import needs_reference
from open_instruct.ref_cache import ReferenceLogps, reference_logps
from open_instruct.train import common
from open_instruct.train.batches import PackedBatches
from open_instruct.train.config import InstructRunConfig, PreferenceConfig, default_trainer
from open_instruct.train.objectives import DPOLoss


@dataclass
class DPOConfig(InstructRunConfig):
    """A preference run: :class:`InstructRunConfig`'s fields plus ``dpo`` (the loss and its knobs)."""

    kind: str = "dpo"
    trainer: TrainerConfig = field(default_factory=lambda: default_trainer("runs/dpo"))
    dpo: PreferenceConfig = field(default_factory=PreferenceConfig)

    def build_loss(self) -> DPOLoss:
        return self.dpo.build()


def _shared_reference(model: torch.nn.Module, data: TokenizedData, cfg: DPOConfig, cache: Path) -> ReferenceLogps:
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


def run(cfg: DPOConfig) -> dict[str, Any]:
    """Train; returns (and writes to ``<run_dir>/summary.json``) the run's summary, with the held-out
    preference accuracy before and after when ``data.holdout`` > 0."""
    ctx = common.start(cfg)
    full_data, stats = common.load_data(cfg, ctx)
    data, heldout = common.split_holdout(full_data, cfg.data.holdout)
    model_cfg, ckpt = common.init_model_config(cfg)
    summary: dict[str, Any] = {"kind": cfg.kind, "init_from": str(ckpt or cfg.init_from), "units": data.num_examples,
                               "heldout": int(len(heldout)), "mix": stats.to_dict()}
    reference = None
    start = common.load_model(model_cfg, ckpt, ctx.device, cfg.init_seed)
    if needs_reference(cfg.dpo.loss):
        reference = _shared_reference(start, data, cfg, ctx.cache / "reference")
    if len(heldout):
        logps_before = pair_logps(start, full_data, heldout, max_length=cfg.data.max_length)
        summary["heldout_before"] = accuracy_from_logps(*logps_before)
        ctx.log(f"held-out preference accuracy before DPO: {summary['heldout_before']['accuracy']:.3f}")
    del start

    batches = PackedBatches(data, global_batch_size=cfg.batch.global_batch_size,
                            micro_batch_size=cfg.batch.micro_batch_size, max_length=cfg.data.max_length,
                            seed=cfg.data.seed, epochs=cfg.batch.epochs, shuffle=cfg.batch.shuffle,
                            pad_id=ctx.tokenizer.pad_token_id, rank=get_rank(), world_size=get_world_size(),
                            reference=reference)
    common.set_schedule(cfg, batches.steps_per_epoch * cfg.batch.epochs, ckpt)
    result = common.fit(cfg, ctx, model_cfg, loader=batches, loss_fn=cfg.build_loss(), stats=stats)
    run_dir = Path(cfg.trainer.run_dir)
    summary.update(result.summary(run_dir))
    if len(heldout):
        final = (common.load_model(model_cfg, Path(summary["checkpoint"]), ctx.device) if summary["checkpoint"]
                 else result.model)
        logps_after = pair_logps(final, full_data, heldout, max_length=cfg.data.max_length)
        summary["heldout_after"] = accuracy_from_logps(*logps_after)
        margins = [s[:, 0] - s[:, 1] for s, _ in (logps_before, logps_after)]
        summary["heldout_paired"] = paired = paired_comparison(*margins)
        b, a = summary["heldout_before"]["accuracy"], summary["heldout_after"]["accuracy"]
        ctx.log(f"held-out preference accuracy ({len(heldout)} pairs): start (SFT) {b:.3f} -> DPO {a:.3f} "
                f"({paired['gained']} pairs gained, {paired['lost']} lost, McNemar p = {paired['p_value']:.3g})")
    return common.write_summary(cfg, ctx, summary)
