"""Data stages: dolma-tools filtering and dedup, decontamination against the eval sets (olmo-eval with
a dolma-tools Bloom filter), a held-out split for perplexity, and tokenization."""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path
from typing import Any

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
    """Drop every training document with a paragraph (>= 13 words) of an eval set in it."""
    from olmo_eval.decontam import decontaminate

    report = decontaminate(ctx.output_of("filter", "documents"), ctx.dir, tasks=ctx.config["tasks"])
    return {"outputs": {"documents": ctx.dir / "clean", "report": ctx.dir / "report.json"},
            "metrics": {k: v for k, v in report.items() if k != "per_file"}}


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
                             max_tokens_per_file=ctx.config["max_tokens_per_file"])
    return {"outputs": {"tokens": ctx.dir / "tokens", "heldout": ctx.dir / "heldout",
                        "train_documents": ctx.dir / "train_documents"},
            "metrics": {"train_documents": {s: len(d) for s, d in train.items()},
                        "heldout_documents": {s: len(d) for s, d in heldout.items()},
                        "tokens": summary["tokens"], "per_source": summary["per_source"]}}
