"""Data stages: dolma-tools filtering and dedup, decontamination against the eval sets (olmo-eval's
export -> dolma-tools decontaminate -> olmo-eval's flags), a held-out split for perplexity, and
tokenization."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.report import Report
from olmo_stack.stages import StageContext


def builtin_path(name: str) -> Path:
    return Path(str(resources.files("olmo_stack.data").joinpath(name)))


def corpus_inputs(corpus: list[str]) -> list[str]:
    return [str(builtin_path("corpus")) if c == "builtin" else str(Path(c).resolve()) for c in corpus]


def resolve_dolma_config(name: str) -> str:
    """``builtin:NAME`` is a config in olmo_stack/configs; anything else goes to dolma-tools as is."""
    if name.startswith("builtin:"):
        return str(resources.files("olmo_stack.configs").joinpath(name.removeprefix("builtin:") + ".yaml"))
    return name


def stage_filter(ctx: StageContext) -> dict[str, Any]:
    """Tag, filter, dedupe (paragraphs by Bloom filter, near-duplicates by MinHash) and mix."""
    from dolma_tools.pipeline.config import load_pipeline_config
    from dolma_tools.pipeline.run import run_pipeline

    c = ctx.config
    docs = ",".join(json.dumps(d) for d in corpus_inputs(c["corpus"]))
    cfg = load_pipeline_config(resolve_dolma_config(c["dolma_config"]), overrides=[
        f"documents=[{docs}]", f"work_dir={ctx.dir / 'dolma'}", f"processes={c['processes']}",
        f"executor={c['executor']}", f"ray_address={c['ray_address'] if c['ray_address'] else 'null'}",
        *c["dolma_overrides"]])
    result = run_pipeline(cfg)
    return {"outputs": {"documents": ctx.dir / "dolma" / "deduped", "funnel": ctx.dir / "dolma" / "funnel.json",
                        "funnel_png": result["funnel_png"]},
            "metrics": {"funnel": result["funnel"]}}


def stage_decontaminate(ctx: StageContext) -> dict[str, Any]:
    """Drop every training document with a paragraph (>= 13 words) of an eval set in it: olmo-eval
    exports the eval instances as documents, dolma-tools indexes them (a filter cached by their
    content) and scans the training documents, olmo-eval reads back which instances were seen."""
    from dolma_tools.decont import DecontConfig, decontaminate
    from olmo_eval.decontam import export_eval_documents, read_contamination, write_clean_flags

    tasks = ctx.config["tasks"]
    export_eval_documents(tasks, ctx.dir / "eval_documents")
    report = decontaminate(ctx.dir / "eval_documents", ctx.output_of("filter", "documents"), ctx.dir, DecontConfig(),
                           executor=ctx.config["executor"], processes=ctx.config["processes"],
                           ray_address=ctx.config["ray_address"])
    flags, per_task = read_contamination(ctx.dir, tasks)
    write_clean_flags(ctx.dir / "clean_flags.json", flags)
    return {"outputs": {"documents": ctx.dir / "clean", "report": ctx.dir / "report.json",
                        "clean_flags": ctx.dir / "clean_flags.json"},
            "metrics": {"training_files": report["training_files"], "documents": report["documents"],
                        "documents_dropped": report["documents_dropped"], "per_source": report["per_source"],
                        "per_task": per_task, "dropped": report["contaminated"]}}


def _held_out(doc_id: str, every: int) -> bool:
    return int(hashlib.sha256(doc_id.encode()).hexdigest()[:8], 16) % every == 0


def stage_tokens(ctx: StageContext) -> dict[str, Any]:
    """Hold one document in N per source out (Paloma layout ``heldout/<set>/<source>/``), tokenize the rest."""
    from dolma_tools.docio import expand_inputs, iter_documents, write_documents
    from dolma_tools.tokens import tokenize_files

    every = int(ctx.config["heldout_every"])
    train: dict[str, list[Any]] = {}
    heldout: dict[str, list[Any]] = {}
    for path in expand_inputs(ctx.output_of("decontaminate", "documents")):
        for _, doc in iter_documents(path):
            (heldout if _held_out(doc.id, every) else train).setdefault(doc.source or "unknown", []).append(doc)
    for source, docs in train.items():
        write_documents(ctx.dir / "train_documents" / source / f"{source}.jsonl.gz", docs)
    for source, docs in heldout.items():
        write_documents(ctx.dir / "heldout" / "demo" / source / "heldout.jsonl.gz", docs)
    summary = tokenize_files(ctx.dir / "train_documents", ctx.dir / "tokens", processes=ctx.config["processes"],
                             max_tokens_per_file=ctx.config["max_tokens_per_file"], executor=ctx.config["executor"],
                             ray_address=ctx.config["ray_address"])
    return {"outputs": {"tokens": ctx.dir / "tokens", "heldout": ctx.dir / "heldout",
                        "train_documents": ctx.dir / "train_documents"},
            "metrics": {"train_documents": {s: len(d) for s, d in train.items()},
                        "heldout_documents": {s: len(d) for s, d in heldout.items()},
                        "tokens": summary["tokens"], "per_source": summary["per_source"]}}


# -- what the data stages show in the report and the run summary ---------------------------------------


@report_section("filter")
def report_filter(rep: Report, run: ReportInputs) -> None:
    f = run.manifests["filter"]
    rep.section("Data funnel")
    rep.image(f["outputs"]["funnel_png"], "documents, characters and tokens kept per source after each step")
    rows = []
    for step in f["metrics"].get("funnel", {}).get("steps", []):
        for source, v in sorted(step.get("per_source", {}).items()):
            rows.append({"step": step["step"], "source": source, "documents": v.get("documents", 0),
                         "characters": v.get("characters", 0),
                         "tokens": f"~{v['tokens']:,}" if v.get("tokens_estimated") else v.get("tokens", 0)})
    if rows:
        rep.table(rows, caption="documents, characters and tokens per source after each step (~: estimated)")


@report_section("decontaminate")
def report_decontaminate(rep: Report, run: ReportInputs) -> None:
    d = run.manifests["decontaminate"]["metrics"]
    rep.section("Decontamination")
    rep.text(f"{d.get('documents_dropped', 0)} of {d.get('documents', 0)} training documents dropped for "
             "containing a paragraph (>= 13 words) of an evaluation set.")
    rep.table([{"task": t, **v} for t, v in sorted(d.get("per_task", {}).items())], caption="per task")
    rep.table([{"source": s, **v} for s, v in sorted(d.get("per_source", {}).items())], caption="per training source")


@report_section("tokens")
def report_tokens(rep: Report, run: ReportInputs) -> None:
    t = run.manifests["tokens"]["metrics"]
    rep.section("Token counts").table(
        [{"source": s, "documents": v["documents"], "tokens": v["tokens"],
          "heldout documents": t["heldout_documents"].get(s, 0)} for s, v in sorted(t["per_source"].items())])


@summary_line("tokens")
def summarize_tokens(metrics: dict[str, Any]) -> str:
    return f"{metrics.get('tokens', 0):,} training tokens"
