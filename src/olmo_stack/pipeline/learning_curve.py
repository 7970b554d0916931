"""The learning curve: every revision pretraining published (olmo-core's ``hub_revisions`` callback,
``<pretrain>/hub``) scored by olmo-eval with the in-loop tasks and held-out perplexity, loaded back
from the hub cache as any user of the revisions would load them; a table and a plot in the report."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.report import Report
from olmo_stack.stages import StageContext


@dataclass
class LearningCurveConfig:
    """How each revision is scored: ``tasks`` (olmo-eval names or suites) on ``limit`` instances each,
    and held-out perplexity on ``max_docs_per_subdomain`` documents per source (kept small: every
    revision is scored, ten in the demo)."""

    tasks: str = "arc_easy"
    limit: int = 40
    max_docs_per_subdomain: int = 2


def stage_learning_curve(ctx: StageContext) -> dict[str, Any]:
    from olmo_eval.files import write_json
    from olmo_eval.learning_curve import plot_learning_curve, score_revisions

    hub = ctx.output_of("pretrain", "run_dir") / "hub"
    if not hub.is_dir():  # revisions were not configured (trainer.callbacks.hub_revisions): nothing to score
        return {"outputs": {}, "metrics": {"rows": [], "hub": None}}
    c: LearningCurveConfig = ctx.config
    rows = score_revisions(hub, ctx.dir / "revisions", tasks=c.tasks, limit=c.limit,
                           heldout=ctx.output_of("tokens", "heldout"), max_docs_per_subdomain=c.max_docs_per_subdomain)
    table = write_json(ctx.dir / "learning_curve.json", rows)
    plot = plot_learning_curve(rows, ctx.dir / "learning_curve.png", "learning curve over the revisions")
    outputs: dict[str, Any] = {"table": table, "hub": hub}
    if plot is not None:
        outputs["plot"] = plot
    return {"outputs": outputs, "metrics": {"rows": rows, "hub": str(hub)}}


@report_section("learning_curve")
def report_learning_curve(rep: Report, run: ReportInputs) -> None:
    m = run.manifests["learning_curve"]
    rows = m["metrics"].get("rows") or []
    rep.section("Learning curve over the revisions")
    if not rows:
        rep.text("No revisions were published (trainer.callbacks.hub_revisions is not set).")
        return
    rep.text(f"Each revision pretraining published to the local hub cache {m['metrics']['hub']} "
             "(load one with HF_HOME set to its parent and "
             f"from_pretrained(repo_id, revision=\"{rows[-1]['revision']}\"); list them with olmo-stack revisions RUN), "
             "scored by olmo-eval after loading it back from the cache.")
    if plot := m["outputs"].get("plot"):
        if Path(plot).is_file():
            rep.image(plot, "task scores and held-out perplexity against tokens seen")
    rep.table(rows, caption="one row per revision: primary task metrics and held-out micro perplexity")


@summary_line("learning_curve")
def summarize_learning_curve(metrics: dict[str, Any]) -> str:
    rows = metrics.get("rows") or []
    if not rows:
        return ""
    first, last = rows[0], rows[-1]
    ppl = (f", held-out ppl {first['heldout_ppl']:.0f} -> {last['heldout_ppl']:.1f}"
           if isinstance(first.get("heldout_ppl"), float) and isinstance(last.get("heldout_ppl"), float) else "")
    return f"{len(rows)} revisions {first['revision']} .. {last['revision']}{ppl}"
