"""The run's HTML report, built from the stage manifests and the metrics files they point at."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from olmo_stack.report import Report
from olmo_stack.stages import lineage


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_curves(rows: list[dict[str, Any]], keys: list[str], path: Path, title: str) -> Path | None:
    series = {k: [(r["step"], r[k]) for r in rows if isinstance(r.get(k), int | float)] for k in keys}
    series = {k: v for k, v in series.items() if v}
    if not series:
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, len(series), figsize=(4.2 * len(series), 3.2), squeeze=False)
    for ax, (k, pts) in zip(axes[0], series.items()):
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="." if len(pts) < 30 else None)
        ax.set_title(k, fontsize=9)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def plot_bars(values: dict[str, float], path: Path, title: str, ylabel: str) -> Path | None:
    if not values:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.bar(list(values), list(values.values()), color="#4c72b0")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def _task_rows(results: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    names = sorted({t for r in results.values() for t in r.get("tasks", {})})
    rows = []
    for t in names:
        row: dict[str, Any] = {"task": t}
        for model, r in results.items():
            entry = r.get("tasks", {}).get(t, {})
            row[model] = entry.get("primary", "")
            row["metric"] = entry.get("primary_metric", "")
        rows.append(row)
    return rows


def build_report(run_dir: Path, manifests: dict[str, dict[str, Any]]) -> Path:
    figs = run_dir / "report" / "plots"
    figs.mkdir(parents=True, exist_ok=True)
    rep = Report(f"olmo-stack run: {run_dir.name}")
    rep.section("Stages").table([{"stage": n, "seconds": m.get("seconds", 0.0), "fingerprint": m["fingerprint"][:12]}
                                 for n, m in manifests.items()])
    versions = next(iter(manifests.values()))["versions"] if manifests else {}
    rep.table([{"package": k, "version": v} for k, v in versions.items()], caption="package versions")

    if "filter" in manifests:
        f = manifests["filter"]
        rep.section("Data funnel")
        rep.image(f["outputs"]["funnel_png"], "documents, characters and tokens kept per source after each step")
        funnel = f["metrics"].get("funnel", {})
        rows = []
        for step in funnel.get("steps", []):
            for source, v in sorted(step.get("per_source", {}).items()):
                rows.append({"step": step["step"], "source": source, "documents": v.get("documents", 0),
                             "characters": v.get("characters", 0),
                             "tokens": f"~{v['tokens']:,}" if v.get("tokens_estimated") else v.get("tokens", 0)})
        if rows:
            rep.table(rows, caption="documents, characters and tokens per source after each step (~: estimated)")
    if "decontaminate" in manifests:
        d = manifests["decontaminate"]["metrics"]
        rep.section("Decontamination")
        rep.text(f"{d.get('documents_dropped', 0)} of {d.get('documents', 0)} training documents dropped for "
                 "containing a paragraph (>= 13 words) of an evaluation set.")
        rep.table([{"task": t, **v} for t, v in sorted(d.get("per_task", {}).items())], caption="per task")
        rep.table([{"source": s, **v} for s, v in sorted(d.get("per_source", {}).items())], caption="per training source")
    if "tokens" in manifests:
        t = manifests["tokens"]["metrics"]
        rep.section("Token counts").table(
            [{"source": s, "documents": v["documents"], "tokens": v["tokens"],
              "heldout documents": t["heldout_documents"].get(s, 0)} for s, v in sorted(t["per_source"].items())])

    if "pretrain" in manifests:
        p = manifests["pretrain"]
        rows = read_jsonl(Path(p["outputs"]["metrics"]))
        rep.section("Pretraining")
        for path in (plot_curves(rows, ["train/loss", "optim/lr", "optim/grad_norm", "throughput/tokens_per_sec"],
                                 figs / "pretrain.png", "pretraining"),):
            if path:
                rep.image(path, "loss, learning rate, gradient norm and throughput per step")
        hist = p["metrics"].get("inloop_history", [])
        ppl_rows = [{"step": h["step"], **{k: v for k, v in h.get("metrics", h).items()
                                            if isinstance(v, int | float) and ("overall/micro_ppl" in k or "primary" in k)}}
                    for h in hist]
        if ppl_rows:
            keys = sorted({k for r in ppl_rows for k in r if k != "step"})
            if path := plot_curves(ppl_rows, keys[:4], figs / "inloop.png", "in-loop evaluation"):
                rep.image(path, "in-loop evaluation: held-out perplexity and task scores")
            rep.table(ppl_rows, caption="in-loop evaluation (step 0 is the untrained model)")
        if "routing" in manifests:
            r = manifests["routing"]
            rep.section("Routing (MoE)")
            for key, val in sorted(r["outputs"].items()):
                if str(val).endswith(".png"):
                    rep.image(val, key)
            routing_png = Path(p["outputs"]["run_dir"]) / "routing.png"
            rep.image(routing_png, "tokens per expert and load-balancing loss during training")

    results: dict[str, dict[str, Any]] = {}
    if "eval_base" in manifests:
        results["pretrained"] = manifests["eval_base"]["metrics"]
    if "eval_adapted" in manifests:
        results.update(manifests["eval_adapted"]["metrics"])
    if results:
        rep.section("Evaluation").table(_task_rows(results), caption="primary metric per task")
        ppl = {m: r["perplexity"]["overall"].get("micro_ppl") for m, r in results.items() if "perplexity" in r}
        base = results.get("pretrained", {}).get("perplexity", {}).get("subdomains", {})
        if base:
            rep.table([{"subdomain": s, **{k: v for k, v in m.items() if isinstance(v, int | float)}}
                       for s, m in sorted(base.items())], caption="perplexity per source (pretrained model)")
            if path := plot_bars({s.split("/")[-1]: m["ppl"] for s, m in base.items()}, figs / "ppl.png",
                                 "held-out perplexity per source", "perplexity"):
                rep.image(path, "held-out perplexity per source, pretrained model")
        rep.table([{"model": k, "overall ppl": v} for k, v in ppl.items()], caption="overall held-out perplexity")

    for stage in ("sft", "dpo"):
        if stage in manifests:
            m = manifests[stage]
            rows = read_jsonl(Path(m["outputs"]["metrics"]))
            rep.section(stage.upper())
            keys = ["train/loss", "optim/lr"] + (["train/rewards/accuracy", "train/rewards/margin"] if stage == "dpo" else [])
            if path := plot_curves(rows, keys, figs / f"{stage}.png", stage.upper()):
                rep.image(path, f"{stage.upper()} curves")
            summary = {k: v for k, v in m["metrics"].items() if k in ("steps", "final_loss", "units", "heldout")}
            if stage == "dpo":
                for k in ("heldout_before", "heldout_after"):
                    if k in m["metrics"]:
                        summary[f"preference accuracy {k.split('_')[1]}"] = m["metrics"][k]["accuracy"]
                if paired := m["metrics"].get("heldout_paired"):
                    summary.update({"pairs gained": paired["gained"], "pairs lost": paired["lost"],
                                    "McNemar p": paired["p_value"]})
            rep.table([summary])

    if "export" in manifests:
        e = manifests["export"]
        rep.section("Export and lineage").table([e["metrics"]])
        chain = lineage(Path(e["outputs"]["hf_model"]))
        rep.pre(format_lineage(chain))
    return rep.write(run_dir / "report" / "index.html")


def format_lineage(chain: list[dict[str, Any]]) -> str:
    lines = []
    for c in chain:
        pad = "  " * c["depth"]
        lines.append(f"{pad}{c['stage']}  ({c['dir']}, fingerprint {c['fingerprint'][:12]})")
        for k, v in c["outputs"].items():
            lines.append(f"{pad}  output {k}: {v}")
        for path in sorted(c["inputs"]["raw_files"]):
            lines.append(f"{pad}  raw input: {path} sha256 {c['inputs']['raw_files'][path][:12]}")
    return "\n".join(lines)
