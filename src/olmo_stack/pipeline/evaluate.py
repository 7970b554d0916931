"""Offline evaluation with olmo-eval: downstream tasks and perplexity per source, for any checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from olmo_stack.stages import StageContext


def evaluate_checkpoint(checkpoint: Path, out: Path, config: dict[str, Any], heldout: Path | None) -> dict[str, Any]:
    from olmo_eval.models import load_model
    from olmo_eval.perplexity import run_perplexity
    from olmo_eval.runner import run

    model, tokenizer = load_model(checkpoint)
    model.eval()
    metrics = run(model, tokenizer, config["tasks"], out / "tasks", limit=config["limit"],
                  num_shots=config["num_shots"], model_id=str(checkpoint), show_progress=True)
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
    out: dict[str, Any] = {}
    for stage in ("sft", "dpo"):
        ckpt = ctx.output_of(stage, "checkpoint")
        out[stage] = {"checkpoint": str(ckpt),
                      **evaluate_checkpoint(ckpt, ctx.dir / stage, ctx.config, ctx.output_of("tokens", "heldout"))}
    return {"outputs": {"results": ctx.dir}, "metrics": out}
