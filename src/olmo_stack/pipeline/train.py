"""Pretraining with olmo-core, olmo-eval's in-loop evaluator wired in by the caller (here)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_stack.pipeline.config import PretrainConfig
from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.plots import plot_curves
from olmo_stack.report import Report
from olmo_stack.stages import StageContext


def tokenizer_path() -> Path:
    from olmo_core.tokenizer import default_tokenizer_path

    return default_tokenizer_path()


@dataclass
class PretrainStageConfig:
    """The pretrain stage's config: the stack's typed :class:`PretrainConfig` itself, whether the model
    is an MoE (its routing metrics are logged), and how many held-out documents per source in-loop
    perplexity reads."""

    run: PretrainConfig
    moe: bool = False
    inloop_ppl_docs: int | None = None


def logged_metrics(run_dir: Path, step: int) -> dict[str, Any]:
    """Step ``step``'s row of ``run_dir/metrics.jsonl`` without its step number (empty if none)."""
    from olmo_core.train.callbacks.metrics_jsonl import read_metrics

    path = Path(run_dir) / "metrics.jsonl"
    rows = [r for r in read_metrics(path) if r.get("step") == step] if step > 0 and path.is_file() else []
    return {k: v for k, v in rows[-1].items() if k != "step"} if rows else {}


def stage_pretrain(ctx: StageContext) -> dict[str, Any]:
    """Train from scratch on the token arrays; resumes from the latest checkpoint in the stage folder.
    ``ctx.config`` is a :class:`PretrainStageConfig`; its olmo-core run config builds the trainer."""
    from olmo_core.checkpoint.manager import latest_checkpoint
    from olmo_core.distributed.utils import destroy_distributed
    from olmo_eval.inloop import InLoopEvaluator

    c: PretrainStageConfig = ctx.config
    p = c.run
    cfg = copy.deepcopy(p.run_config())
    cfg.data.paths = [str(ctx.output_of("tokens", "tokens"))]
    cfg.trainer.run_dir = str(ctx.dir)
    evaluator = InLoopEvaluator(tokenizer_path(), tasks=p.inloop_tasks, every_n_steps=p.eval_every,
                                limit=p.inloop_limit, perplexity_dir=ctx.output_of("tokens", "heldout"),
                                max_docs_per_subdomain=c.inloop_ppl_docs, eval_at_start=True, prefix="inloop")
    callbacks: list[Any] = [evaluator]
    if c.moe:
        from olmoe.callbacks import RoutingMetrics

        callbacks.append(RoutingMetrics())
    trainer = cfg.build(extra_callbacks=callbacks)
    try:
        # A stage killed after its final checkpoint but before its manifest resumes at max_steps and
        # takes no step: its final metrics are the ones logged for that step.
        last = trainer.fit() or logged_metrics(ctx.dir, trainer.step)
    finally:
        destroy_distributed()
    ckpt = latest_checkpoint(ctx.dir)
    if ckpt is None:
        raise RuntimeError(f"{ctx.dir}: training finished without a checkpoint")
    return {"outputs": {"checkpoint": ckpt, "metrics": ctx.dir / "metrics.jsonl", "run_dir": ctx.dir},
            "metrics": {"final": {k: v for k, v in (last or {}).items() if isinstance(v, int | float)},
                        "inloop_history": evaluator.history}}


# -- what pretraining shows in the report and the run summary ------------------------------------------


@report_section("pretrain")
def report_pretrain(rep: Report, run: ReportInputs) -> None:
    rep.section("Pretraining")
    if path := plot_curves(run.jsonl("pretrain"), ["train/loss", "optim/lr", "optim/grad_norm",
                                                    "throughput/tokens_per_sec"], run.plots / "pretrain.png",
                           "pretraining"):
        rep.image(path, "loss, learning rate, gradient norm and throughput per step")
    hist = run.manifests["pretrain"]["metrics"].get("inloop_history", [])
    ppl_rows = [{"step": h["step"], **{k: v for k, v in h.get("metrics", h).items()
                                        if isinstance(v, int | float) and ("overall/micro_ppl" in k or "primary" in k)}}
                for h in hist]
    if ppl_rows:
        keys = sorted({k for r in ppl_rows for k in r if k != "step"})
        if path := plot_curves(ppl_rows, keys[:4], run.plots / "inloop.png", "in-loop evaluation"):
            rep.image(path, "in-loop evaluation: held-out perplexity and task scores")
        rep.table(ppl_rows, caption="in-loop evaluation (step 0 is the untrained model)")


@summary_line("pretrain")
def summarize_pretrain(metrics: dict[str, Any]) -> str:
    hist = metrics.get("inloop_history") or []
    ppl = [(h["step"], v) for h in hist for k, v in h.items() if k.endswith("overall/micro_ppl")]
    if len(ppl) < 2:
        return ""
    return f"held-out ppl {ppl[0][1]:.0f} (step {ppl[0][0]}) -> {ppl[-1][1]:.1f} (step {ppl[-1][0]})"
