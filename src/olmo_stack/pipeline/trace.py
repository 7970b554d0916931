"""What the pretrained model echoes of its training data (OLMoTrace's question): the run's index over
the tokens pretraining read (``olmo-stack index``), then greedy continuations of prompts cut from
training documents, each traced back to the verbatim spans it shares with the training data, their
documents and the steps that saw them (``olmo-stack trace-text``); a table in the report."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.report import Report
from olmo_stack.stages import StageContext


@dataclass
class TraceConfig:
    """``prompts`` prompts, each the first ``prompt_tokens`` tokens of a training document (documents
    spread evenly over the training stream), continued greedily for ``max_new_tokens``; spans of at
    least ``min_len`` tokens are reported (OLMoTrace's floor is longer; a small model's echoes are short)."""

    prompts: int = 6
    prompt_tokens: int = 16
    max_new_tokens: int = 32
    min_len: int = 6
    max_occurrences: int = 3
    index_memory_mb: int = 512


def _prompts(index: Any, c: TraceConfig) -> list[tuple[str, list[int]]]:
    """(document id, its first ``prompt_tokens`` ids) for documents spread evenly over the stream."""
    import numpy as np

    starts, docs = index._load_documents()
    ends = np.append(starts[1:], index.num_tokens)
    long_enough = [d for d in range(len(starts)) if ends[d] - starts[d] > c.prompt_tokens + c.max_new_tokens]
    if not long_enough:
        return []
    picks = sorted({long_enough[int(i)] for i in np.linspace(0, len(long_enough) - 1, c.prompts)})
    return [(str(docs[d][0]), index.tokens(int(starts[d]), int(starts[d]) + c.prompt_tokens).tolist())
            for d in picks]


def stage_trace(ctx: StageContext) -> dict[str, Any]:
    from dolma_tools.index import TokenIndex
    from olmo_core.checkpoint.manager import latest_checkpoint
    from olmo_core.tokenizer import decode
    from olmo_eval.files import write_json
    from olmo_eval.models import load_model
    from olmo_stack.tracing.run_index import build_run_index, index_dir
    from olmo_stack.tracing.trace_text import run_tokenizer, trace_ids

    c: TraceConfig = ctx.config
    run = ctx.dir.parent
    built = build_run_index(run, memory_mb=c.index_memory_mb)
    with TokenIndex(index_dir(run)) as index:
        prompts = _prompts(index, c)
        tok = run_tokenizer(index.meta.get("tokenizer"))
    ckpt = latest_checkpoint(ctx.output_of("pretrain", "run_dir"))
    if ckpt is None:
        raise FileNotFoundError(f"{ctx.output_of('pretrain', 'run_dir')}: no checkpoint to generate with")
    model, _ = load_model(ckpt)
    outputs = model.generate([ids for _, ids in prompts], c.max_new_tokens) if prompts else []
    rows = []
    for (doc_id, prompt_ids), new_ids in zip(prompts, outputs):
        prompt = decode(tok, prompt_ids, skip_special_tokens=False)
        trace = trace_ids(run, list(new_ids), min_len=c.min_len, max_occurrences=c.max_occurrences,
                          tokenizer=tok, prompt=prompt)
        rows.append({"document": doc_id, "prompt_ids": list(prompt_ids), **trace.to_json()})
    table = write_json(ctx.dir / "traces.json", rows)
    spans = sum(len(r["spans"]) for r in rows)
    return {"outputs": {"traces": table, "index": index_dir(run)},
            "metrics": {"prompts": len(rows), "spans": spans, "min_len": c.min_len,
                        "index_tokens": built["num_tokens"], "index_seconds": built.get("seconds"),
                        "generated_tokens": sum(len(r["ids"]) for r in rows),
                        "traced_tokens": sum(s["end"] - s["start"] for r in rows for s in r["spans"])}}


def _steps(occ: dict[str, Any]) -> str:
    steps = occ["steps"]
    return ", ".join(map(str, steps[:5])) + (f" ... ({len(steps)})" if len(steps) > 5 else "") or "none"


@report_section("trace")
def report_trace(rep: Report, run: ReportInputs) -> None:
    import json
    from pathlib import Path

    m = run.manifests["trace"]
    rep.section("What the model echoes of its training data")
    mt = m["metrics"]
    rep.text(f"Greedy continuations of {mt['prompts']} prompts (the opening tokens of training documents) by the "
             f"pretrained model, traced to the spans of at least {mt['min_len']} tokens that occur verbatim in "
             f"the {mt['index_tokens']:,} tokens pretraining read (suffix-array index; olmo-stack trace-text RUN "
             f"\"...\" traces any text). {mt['traced_tokens']} of {mt['generated_tokens']} generated tokens lie in "
             f"{mt['spans']} such spans.")
    path = Path(m["outputs"]["traces"])
    rows = json.loads(path.read_text()) if path.is_file() else []
    table = []
    for r in rows:
        if not r["spans"]:
            table.append({"prompt": r["prompt"], "generated": r["text"], "span": "", "count": 0,
                          "documents (steps that saw them)": ""})
        for s in r["spans"]:
            docs = "; ".join(f"{o['doc_id']} ({o['source']}, steps {_steps(o)})" for o in s["occurrences"])
            table.append({"prompt": r["prompt"], "generated": r["text"], "span": s["text"], "count": s["count"],
                          "documents (steps that saw them)": docs})
    rep.table(table, caption="one row per traced span (a continuation with none has one empty row)")


@summary_line("trace")
def summarize_trace(metrics: dict[str, Any]) -> str:
    return (f"{metrics['spans']} verbatim span(s) >= {metrics['min_len']} tokens in {metrics['prompts']} "
            f"generations ({metrics['traced_tokens']}/{metrics['generated_tokens']} tokens)")
