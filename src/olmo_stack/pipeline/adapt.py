"""Adaptation with open-instruct: SFT from the pretrained checkpoint, then DPO from the SFT one."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from olmo_stack.pipeline.data import builtin_path
from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.plots import plot_curves
from olmo_stack.report import Report
from olmo_stack.stages import StageContext


def _run(ctx: StageContext, which: str, init_from: Path, **data: Any) -> dict[str, Any]:
    """Train ``adapt.<which>`` (open-instruct's typed run config; ``ctx.config`` is the stack's
    :class:`AdaptConfig`) from ``init_from`` into the stage folder, with ``data`` fields set; the
    stage's outputs."""
    from olmo_core.distributed.utils import destroy_distributed
    from open_instruct.train.run import run

    cfg = copy.deepcopy(getattr(ctx.config, which))
    cfg.init_from, cfg.trainer.run_dir, cfg.data.cache_dir = str(init_from), str(ctx.dir), str(ctx.dir / "cache")
    for key, value in data.items():
        setattr(cfg.data, key, value)
    try:
        summary = run(cfg)
    finally:
        destroy_distributed()
    return {"outputs": {"checkpoint": summary["checkpoint"], "metrics": ctx.dir / "metrics.jsonl"},
            "metrics": {k: v for k, v in summary.items() if k != "mix"}}


def stage_sft(ctx: StageContext) -> dict[str, Any]:
    instruct = builtin_path("instruct")
    # The built-in sets ask disjoint questions; excluding the pairs' ids keeps it so for any counts.
    return _run(ctx, "sft", ctx.output_of("pretrain", "checkpoint"),
                sources=[f"{instruct / 'sft.jsonl.zst'}:{ctx.config.sft_examples}"],
                exclude=[str(instruct / "dpo.jsonl.zst")])


def stage_dpo(ctx: StageContext) -> dict[str, Any]:
    instruct = builtin_path("instruct")
    return _run(ctx, "dpo", ctx.output_of("sft", "checkpoint"),
                sources=[f"{instruct / 'dpo.jsonl.zst'}:{ctx.config.dpo_pairs}"])


# -- what SFT and DPO show in the report and the run summary -------------------------------------------


def _curves_and_summary(rep: Report, run: ReportInputs, stage: str, curves: list[str]) -> dict[str, Any]:
    """The stage's section with its training curves; returns its summary row for the caller to extend."""
    rep.section(stage.upper())
    if path := plot_curves(run.jsonl(stage), ["train/loss", "optim/lr", *curves], run.plots / f"{stage}.png",
                           stage.upper()):
        rep.image(path, f"{stage.upper()} curves")
    metrics = run.manifests[stage]["metrics"]
    return {k: v for k, v in metrics.items() if k in ("steps", "final_loss", "units", "heldout")}


@report_section("sft")
def report_sft(rep: Report, run: ReportInputs) -> None:
    rep.table([_curves_and_summary(rep, run, "sft", [])])


@report_section("dpo")
def report_dpo(rep: Report, run: ReportInputs) -> None:
    """Curves with the reward accuracy and margin; held-out preference accuracy before and after."""
    summary = _curves_and_summary(rep, run, "dpo", ["train/rewards/accuracy", "train/rewards/margin"])
    metrics = run.manifests["dpo"]["metrics"]
    for k in ("heldout_before", "heldout_after"):
        if k in metrics:
            summary[f"preference accuracy {k.split('_')[1]}"] = metrics[k]["accuracy"]
    if paired := metrics.get("heldout_paired"):
        summary.update({"pairs gained": paired["gained"], "pairs lost": paired["lost"], "McNemar p": paired["p_value"]})
    rep.table([summary])


@summary_line("dpo")
def summarize_dpo(metrics: dict[str, Any]) -> str:
    if "heldout_after" not in metrics:
        return ""
    text = (f"held-out preference accuracy SFT {metrics['heldout_before']['accuracy']:.3f} -> "
            f"DPO {metrics['heldout_after']['accuracy']:.3f}")
    if paired := metrics.get("heldout_paired"):
        text += f" ({metrics['heldout']} pairs, McNemar p = {paired['p_value']:.2g})"
    return text
