"""Held-out verified accuracy of every adaptation stage on the same procedural tasks, per family,
with a paired McNemar test between consecutive stages (``open_instruct.evaluate.paired_comparison``:
the exact two-sided test on the examples one model gets right and the other wrong)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from olmo_stack.pipeline.reporting import ReportInputs, report_section, summary_line
from olmo_stack.report import Report
from olmo_stack.stages import StageContext

#: the models judged, in pipeline order, and the stage that made each
MODELS = (("pretrained", "pretrain"), ("sft", "sft"), ("dpo", "dpo"), ("grpo", "grpo"))
#: the paired comparisons reported: each stage against the one before it, and the whole recipe against SFT
PAIRS = (("pretrained", "sft"), ("sft", "dpo"), ("dpo", "grpo"), ("sft", "grpo"))


def compare(examples: list[dict[str, Any]], correct: dict[str, list[bool]]) -> dict[str, Any]:
    """Accuracy per model and family, and McNemar per pair of models, overall and per family."""
    from open_instruct.evaluate import paired_comparison
    from open_instruct.evaluate_verified import accuracy_by_family

    families = sorted({str(ex.get("family", "all")) for ex in examples})
    fam_of = np.array([str(ex.get("family", "all")) for ex in examples])
    out: dict[str, Any] = {"examples": len(examples), "accuracy": {}, "families": {f: {} for f in families},
                           "paired": {}}
    for model, ok in correct.items():
        acc = accuracy_by_family(examples, ok)
        out["accuracy"][model] = acc["accuracy"]
        for f in families:
            out["families"][f][model] = acc["families"][f]["accuracy"]
    for a, b in PAIRS:
        if a not in correct or b not in correct:
            continue
        x, y = np.asarray(correct[a], dtype=float), np.asarray(correct[b], dtype=float)
        key = f"{a}->{b}"
        out["paired"][key] = {"delta": float(y.mean() - x.mean()), **paired_comparison(x, y),
                              "families": {f: {"delta": float(y[fam_of == f].mean() - x[fam_of == f].mean()),
                                               **paired_comparison(x[fam_of == f], y[fam_of == f])}
                                           for f in families}}
    return out


def stage_eval_verified(ctx: StageContext) -> dict[str, Any]:
    """Greedy answers of each model to the held-out tasks, judged by their verifiers; one JSONL per
    model (id, family, correct, response) so any two pair example by example."""
    import torch

    from olmo_core.checkpoint.model_io import load_model_checkpoint
    from olmo_core.fileio import write_atomic
    from open_instruct.evaluate_verified import greedy_responses, judge
    from open_instruct.tasks import read_examples
    from open_instruct.tokenizer import load_tokenizer
    from open_instruct.train.common import resolve_init

    examples = read_examples(ctx.output_of("tasks", "heldout"))
    tokenizer = load_tokenizer()
    correct: dict[str, list[bool]] = {}
    checkpoints: dict[str, str] = {}
    for model_name, stage in MODELS:
        _, ckpt = resolve_init(str(ctx.output_of(stage, "checkpoint")))
        model = load_model_checkpoint(ckpt, torch.device("cpu")).eval()
        responses = greedy_responses(model, tokenizer, examples, max_new_tokens=ctx.config.max_new_tokens,
                                     batch_size=ctx.config.batch_size)
        correct[model_name] = judge(examples, responses)
        checkpoints[model_name] = str(ckpt)
        write_atomic(ctx.dir / f"{model_name}.jsonl", "".join(
            json.dumps({"id": ex["id"], "family": ex.get("family", ""), "correct": int(ok), "response": r}) + "\n"
            for ex, ok, r in zip(examples, correct[model_name], responses)))
    result = compare(examples, correct)
    return {"outputs": {m: ctx.dir / f"{m}.jsonl" for m, _ in MODELS},
            "metrics": {**result, "checkpoints": checkpoints}}


def plot_family_bars(families: dict[str, dict[str, float]], models: list[str], path: Path) -> Path | None:
    """Accuracy per family (groups) and model (bars)."""
    from olmo_stack.plots import _plt, _save

    if not families:
        return None
    plt = _plt()
    names = [*families, "all"] if "all" not in families else list(families)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(names) + 1), 3.4))
    width = 0.8 / len(models)
    for i, m in enumerate(models):
        xs = [j + (i - (len(models) - 1) / 2) * width for j in range(len(names))]
        ax.bar(xs, [families.get(n, {}).get(m, 0.0) for n in names], width, label=m)
    ax.set_xticks(range(len(names)), names, rotation=20)
    ax.set_ylim(0, 1)
    ax.set_ylabel("verified accuracy")
    ax.set_title("held-out procedural tasks: verified accuracy per stage")
    ax.legend(fontsize=8, ncol=len(models))
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def _in_order(accuracy: dict[str, Any]) -> list[str]:
    """The models of a result in pipeline order (a manifest's keys come back sorted)."""
    return [m for m, _ in MODELS if m in accuracy]


@report_section("eval_verified")
def report_eval_verified(rep: Report, run: ReportInputs) -> None:
    m = run.manifests["eval_verified"]["metrics"]
    models = _in_order(m["accuracy"])
    rep.section("Adaptation on verifiable tasks")
    rows = [{"family": f, **{k: round(accs[k], 3) for k in models}} for f, accs in m["families"].items()]
    rows.append({"family": "all", **{k: round(m["accuracy"][k], 3) for k in models}})
    rep.table(rows, caption=f"held-out verified accuracy ({m['examples']} tasks, greedy answers judged by their "
                            "verifiers)")
    fams = {**m["families"], "all": m["accuracy"]}
    if path := plot_family_bars(fams, models, run.plots / "verified_accuracy.png"):
        rep.image(path, "held-out verified accuracy per family and stage")
    prow = []
    for key in [f"{a}->{b}" for a, b in PAIRS if f"{a}->{b}" in m["paired"]]:
        p = m["paired"][key]
        prow.append({"comparison": key, "family": "all", "delta": round(p["delta"], 3), "gained": p["gained"],
                     "lost": p["lost"], "McNemar p": f"{p['p_value']:.2g}"})
        prow += [{"comparison": key, "family": f, "delta": round(q["delta"], 3), "gained": q["gained"],
                  "lost": q["lost"], "McNemar p": f"{q['p_value']:.2g}"} for f, q in p["families"].items()]
    rep.table(prow, caption="paired comparisons on the same held-out tasks (exact McNemar test)")


@summary_line("eval_verified")
def summarize_eval_verified(metrics: dict[str, Any]) -> str:
    acc, paired = metrics["accuracy"], metrics["paired"]
    steps = " -> ".join(f"{m.upper()} {acc[m]:.3f}" for m in _in_order(acc) if m != "pretrained")
    ps = ", ".join(f"{k} p={paired[k]['p_value']:.2g}" for k in ("sft->dpo", "dpo->grpo") if k in paired)
    return f"held-out verified accuracy {steps} ({metrics['examples']} tasks; McNemar {ps})"
