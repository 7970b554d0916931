"""Adaptation with open-instruct: SFT from the pretrained checkpoint, then DPO from the SFT one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_stack.pipeline.data import builtin_path
from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.plots import plot_curves
from olmo_stack.report import Report
from olmo_stack.stages import StageContext


def _run(preset: str, overrides: list[str]) -> dict[str, Any]:
    from olmo_core.distributed.utils import destroy_distributed
    from open_instruct.train.presets import compose_config
    from open_instruct.train.run import run

    try:
        return run(compose_config(preset, overrides))
    finally:
        destroy_distributed()


def _common(ctx: StageContext, init_from: Path) -> list[str]:
    return [f"init_from={init_from}", f"trainer.run_dir={ctx.dir}", f"data.cache_dir={ctx.dir / 'cache'}",
            f"data.max_length={ctx.config['max_length']}"]


def stage_sft(ctx: StageContext) -> dict[str, Any]:
    c = ctx.config
    data = builtin_path("instruct") / "sft.jsonl.zst"
    # The built-in sets ask disjoint questions; excluding the pairs' ids keeps it so for any counts.
    pairs = builtin_path("instruct") / "dpo.jsonl.zst"
    summary = _run(c["sft_preset"], [*_common(ctx, ctx.output_of("pretrain", "checkpoint")),
                                     f"data.sources=[{data}:{c['sft_examples']}]", f"data.exclude=[{pairs}]",
                                     *c["sft_overrides"]])
    return {"outputs": {"checkpoint": summary["checkpoint"], "metrics": ctx.dir / "metrics.jsonl"},
            "metrics": {k: v for k, v in summary.items() if k != "mix"}}


def stage_dpo(ctx: StageContext) -> dict[str, Any]:
    c = ctx.config
    data = builtin_path("instruct") / "dpo.jsonl.zst"
    summary = _run(c["dpo_preset"], [*_common(ctx, ctx.output_of("sft", "checkpoint")),
                                     f"data.sources=[{data}:{c['dpo_pairs']}]", f"data.holdout={c['dpo_holdout']}",
                                     *c["dpo_overrides"]])
    return {"outputs": {"checkpoint": summary["checkpoint"], "metrics": ctx.dir / "metrics.jsonl"},
            "metrics": {k: v for k, v in summary.items() if k != "mix"}}


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
