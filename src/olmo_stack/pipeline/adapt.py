"""Adaptation with open-instruct on procedural verifiable tasks, as the Tulu 3 recipe runs it: SFT on
the suite's train split, on-policy preference pairs sampled from the SFT model and judged by the
tasks' verifiers, DPO on them from the SFT model, then GRPO (RL with verifiable rewards) from the
DPO model. Every stage is judged on the same held-out tasks by ``eval_verified``
(:mod:`olmo_stack.pipeline.adapt_eval`)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

# the held-out evaluation of these stages registers its report section as it imports (report_build
# imports the stage modules, this one among them)
from olmo_stack.pipeline import adapt_eval  # noqa: F401
from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.plots import plot_curves
from olmo_stack.report import Report
from olmo_stack.stages import StageContext


def stage_tasks(ctx: StageContext) -> dict[str, Any]:
    """The task suite: ``train.jsonl`` and ``heldout.jsonl`` (and ``suite.json``) in the stage folder."""
    from open_instruct.tasks import build_suite, read_examples

    c = ctx.config
    paths = build_suite(ctx.dir, families=c.families, train_per_family=c.train_per_family,
                        heldout_per_family=c.heldout_per_family, seed=c.seed, **c.difficulty)
    counts = {split: len(read_examples(path)) for split, path in paths.items()}
    return {"outputs": {**paths, "suite": ctx.dir / "suite.json"}, "metrics": {"examples": counts}}


def _fit(ctx: StageContext, init_from: Path, **fields: Any) -> dict[str, Any]:
    """Train the stage's open-instruct config (``ctx.config``) from ``init_from`` into the stage
    folder with ``fields`` set (dotted names); the stage's outputs and metrics."""
    from olmo_core.distributed.utils import destroy_distributed
    from open_instruct.train.run import method_module

    cfg = copy.deepcopy(ctx.config)
    cfg.init_from, cfg.trainer.run_dir = str(init_from), str(ctx.dir)
    for key, value in fields.items():
        obj, *path = [cfg, *key.split(".")]
        for p in path[:-1]:
            obj = getattr(obj, p)
        setattr(obj, path[-1], value)
    try:
        summary = method_module(getattr(cfg, "kind", "grpo")).run(cfg)
    finally:
        destroy_distributed()
    return {"outputs": {"checkpoint": summary["checkpoint"], "metrics": ctx.dir / "metrics.jsonl"},
            "metrics": {k: v for k, v in summary.items() if k != "mix"}}


def stage_sft(ctx: StageContext) -> dict[str, Any]:
    return _fit(ctx, ctx.output_of("pretrain", "checkpoint"), **{
        "data.sources": [str(ctx.output_of("tasks", "train"))], "data.cache_dir": str(ctx.dir / "cache")})


def stage_onpolicy(ctx: StageContext) -> dict[str, Any]:
    """Pairs from the SFT model's own samples (cached by content hash under the stage folder, so a
    resumed run reuses a finished sampling)."""
    from open_instruct.onpolicy import build_preferences

    res = build_preferences(ctx.output_of("sft", "checkpoint"), ctx.output_of("tasks", "train"), ctx.dir / "cache",
                            ctx.config)
    if not res.stats["pairs"]:
        raise ValueError(f"on-policy sampling gave no pairs ({res.stats['all_correct']} prompts all verified, "
                         f"{res.stats['all_failed']} all failed): raise adapt.onpolicy.samples_per_prompt or "
                         "temperature, set adapt.onpolicy.gold_when_all_fail, or change the task difficulty")
    return {"outputs": {"pairs": res.pairs, "samples": res.samples},
            "metrics": {k: v for k, v in res.stats.items() if k != "checkpoint"}}


def stage_dpo(ctx: StageContext) -> dict[str, Any]:
    return _fit(ctx, ctx.output_of("sft", "checkpoint"), **{
        "data.sources": [str(ctx.output_of("onpolicy", "pairs"))], "data.cache_dir": str(ctx.dir / "cache")})


def stage_grpo(ctx: StageContext) -> dict[str, Any]:
    return _fit(ctx, ctx.output_of("dpo", "checkpoint"), tasks=str(ctx.output_of("tasks", "train")))


# -- what the adaptation stages show in the report and the run summary --------------------------------


def _curves(rep: Report, run: ReportInputs, stage: str, title: str, curves: list[str]) -> dict[str, Any]:
    """The stage's section with its training curves; returns its summary row for the caller to extend."""
    rep.section(title)
    if path := plot_curves(run.jsonl(stage), ["train/loss", "optim/lr", *curves], run.plots / f"{stage}.png", title):
        rep.image(path, f"{title} curves")
    metrics = run.manifests[stage]["metrics"]
    return {k: v for k, v in metrics.items() if k in ("steps", "final_loss", "units", "prompts", "final_reward")}


@report_section("tasks")
def report_tasks(rep: Report, run: ReportInputs) -> None:
    m = run.manifests["tasks"]
    rep.section("Verifiable tasks").table([{"split": s, "examples": n} for s, n in m["metrics"]["examples"].items()],
                                          caption="procedural task suite (open_instruct.tasks)")


@report_section("sft")
def report_sft(rep: Report, run: ReportInputs) -> None:
    rep.table([_curves(rep, run, "sft", "SFT", [])])


@report_section("onpolicy")
def report_onpolicy(rep: Report, run: ReportInputs) -> None:
    m = run.manifests["onpolicy"]["metrics"]
    rep.section("On-policy preferences")
    keys = ("prompts", "samples", "sample_accuracy", "pairs", "mixed", "all_correct", "all_failed")
    rep.table([{"family": f, **{k: c.get(k) for k in keys}} for f, c in m["families"].items()]
              + [{"family": "all", **{k: m.get(k) for k in keys}}],
              caption=f"{m['settings']['samples_per_prompt']} samples per prompt from the SFT model at temperature "
                      f"{m['settings']['temperature']}; a verified sample chosen against a failed one, one pair per "
                      "prompt (ties give none, as in Tulu 3)")


@report_section("dpo")
def report_dpo(rep: Report, run: ReportInputs) -> None:
    rep.table([_curves(rep, run, "dpo", "DPO", ["train/rewards/accuracy", "train/rewards/margin"])])


@report_section("grpo")
def report_grpo(rep: Report, run: ReportInputs) -> None:
    rep.table([_curves(rep, run, "grpo", "GRPO", ["rollout/reward", "train/kl"])])


@summary_line("onpolicy")
def summarize_onpolicy(metrics: dict[str, Any]) -> str:
    return (f"{metrics['pairs']} pairs from {metrics['prompts']} prompts (SFT samples verified "
            f"{metrics['sample_accuracy']:.2f})")


@summary_line("grpo")
def summarize_grpo(metrics: dict[str, Any]) -> str:
    reward = metrics.get("final_reward")
    return f"{metrics.get('steps')} steps, final rollout reward {reward:.2f}" if isinstance(reward, float) else ""

