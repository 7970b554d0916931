"""Offline evaluation with olmo-eval: downstream tasks and perplexity per source, for any checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.plots import plot_bars
from olmo_stack.report import Report
from olmo_stack.stages import StageContext


def evaluate_checkpoint(checkpoint: Path, out: Path, config: dict[str, Any], heldout: Path | None) -> dict[str, Any]:
    from olmo_eval.models import load_model, model_identity
    from olmo_eval.perplexity import run_perplexity
    from olmo_eval.runner import run

    model, tokenizer = load_model(checkpoint)
    model.eval()
    metrics = run(model, tokenizer, config["tasks"], out / "tasks", limit=config["limit"],
                  num_shots=config["num_shots"], model_id=model_identity(checkpoint), show_progress=True)
    result: dict[str, Any] = {"tasks": {name: {"primary": entry.get("primary"), "primary_metric": entry.get("primary_metric")}
                                        for name, entry in metrics["tasks"].items()},
                              "groups": metrics.get("groups", {})}
    if heldout is not None:
        ppl = run_perplexity(model, tokenizer, heldout, out / "perplexity",
                             max_docs_per_subdomain=config["max_docs_per_subdomain"])
        result["perplexity"] = {"overall": ppl["overall"], "subdomains": ppl["subdomains"]}
    return result


def stage_eval_base(ctx: StageContext) -> dict[str, Any]:
    ckpt = ctx.output_of("pretrain", "checkpoint")
    result = evaluate_checkpoint(ckpt, ctx.dir, ctx.config, ctx.output_of("tokens", "heldout"))
    return {"outputs": {"results": ctx.dir}, "metrics": {"checkpoint": str(ckpt), **result}}


def stage_eval_adapted(ctx: StageContext) -> dict[str, Any]:
    """The final adapted model (GRPO's, the one exported) on the same tasks as the pretrained one; the
    stages' gains on the tasks they were trained for are ``eval_verified``'s."""
    out: dict[str, Any] = {}
    for stage in ("grpo",):
        ckpt = ctx.output_of(stage, "checkpoint")
        out[stage] = {"checkpoint": str(ckpt),
                      **evaluate_checkpoint(ckpt, ctx.dir / stage, ctx.config, ctx.output_of("tokens", "heldout"))}
    return {"outputs": {"results": ctx.dir}, "metrics": out}


# -- what evaluation shows in the report and the run summary -------------------------------------------


def _task_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per task: each model's primary metric."""
    rows = []
    for t in sorted({t for r in results.values() for t in r.get("tasks", {})}):
        row: dict[str, Any] = {"task": t}
        for model, r in results.items():
            entry = r.get("tasks", {}).get(t, {})
            row[model] = entry.get("primary", "")
            row["metric"] = entry.get("primary_metric", "")
        rows.append(row)
    return rows


@report_section("eval_base", "eval_adapted")
def report_evaluation(rep: Report, run: ReportInputs) -> None:
    """The pretrained and the adapted models side by side."""
    results: dict[str, dict[str, Any]] = {}
    if "eval_base" in run.manifests:
        results["pretrained"] = run.manifests["eval_base"]["metrics"]
    if "eval_adapted" in run.manifests:
        results.update(run.manifests["eval_adapted"]["metrics"])
    rep.section("Evaluation").table(_task_rows(results), caption="primary metric per task")
    ppl = {m: r["perplexity"]["overall"].get("micro_ppl") for m, r in results.items() if "perplexity" in r}
    base = results.get("pretrained", {}).get("perplexity", {}).get("subdomains", {})
    if base:
        rep.table([{"subdomain": s, **{k: v for k, v in m.items() if isinstance(v, int | float)}}
                   for s, m in sorted(base.items())], caption="perplexity per source (pretrained model)")
        if path := plot_bars({s.split("/")[-1]: m["ppl"] for s, m in base.items()}, run.plots / "ppl.png",
                             "held-out perplexity per source", "perplexity"):
            rep.image(path, "held-out perplexity per source, pretrained model")
    rep.table([{"model": k, "overall ppl": v} for k, v in ppl.items()], caption="overall held-out perplexity")


@summary_line("eval_base")
def summarize_eval_base(metrics: dict[str, Any]) -> str:
    if "perplexity" not in metrics:
        return ""
    return f"held-out ppl {metrics['perplexity']['overall'].get('micro_ppl', float('nan')):.1f}"
