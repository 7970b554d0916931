"""The data funnel: documents, characters and tokens kept per source after each pipeline step,
as a terminal table and a PNG. Token counts are exact for the final step (the token arrays); for
earlier steps they are estimated from each source's final tokens-per-character ratio (marked ``~``)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from dolma_tools.atomic import atomic_path

METRICS = ("documents", "characters", "tokens")


def build_funnel(steps: list[tuple[str, dict[str, dict[str, int]]]],
                 final_tokens: dict[str, dict[str, int]]) -> dict[str, Any]:
    """``steps``: (name, {source: {documents, characters}}) in order; ``final_tokens``: per source
    documents/tokens of the token arrays. Returns {"steps": [...], "sources": [...]}."""
    sources = sorted({s for _, per in steps for s in per} | set(final_tokens))
    last_chars = steps[-1][1] if steps else {}
    ratio = {}
    for s in sources:
        docs = final_tokens.get(s, {}).get("documents", 0)
        toks = final_tokens.get(s, {}).get("tokens", 0) - docs  # without the EOS tokens
        chars = last_chars.get(s, {}).get("characters", 0)
        ratio[s] = toks / chars if chars else None
    rows = []
    for name, per in steps:
        row: dict[str, Any] = {"step": name, "per_source": {}}
        for s in sources:
            d = per.get(s, {"documents": 0, "characters": 0})
            est = None if ratio[s] is None else round(d["characters"] * ratio[s]) + d["documents"]
            row["per_source"][s] = {"documents": d["documents"], "characters": d["characters"],
                                    "tokens": est, "tokens_estimated": True}
        rows.append(row)
    rows.append({"step": "tokens", "per_source": {
        s: {"documents": final_tokens.get(s, {}).get("documents", 0),
            "characters": last_chars.get(s, {}).get("characters", 0),
            "tokens": final_tokens.get(s, {}).get("tokens", 0), "tokens_estimated": False} for s in sources}})
    for row in rows:
        row["total"] = {m: sum(v[m] or 0 for v in row["per_source"].values()) for m in METRICS}
        row["total"]["tokens_estimated"] = row["step"] != "tokens"
    return {"steps": rows, "sources": sources}


def print_funnel(funnel: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    steps = funnel["steps"]
    first = steps[0]["total"]
    t = Table(title="data funnel: kept after each step (~ = estimated from the final tokens per character)")
    t.add_column("source")
    for st in steps:
        t.add_column(st["step"], justify="right")
    for s in funnel["sources"] + ["TOTAL"]:
        cells = []
        for st in steps:
            v = st["total"] if s == "TOTAL" else st["per_source"][s]
            tok = "-" if v["tokens"] is None else f"{'~' if v['tokens_estimated'] else ''}{v['tokens']:,}"
            cells.append(f"{v['documents']:,} docs\n{v['characters']:,} chars\n{tok} tok")
        t.add_row(s, *cells, end_section=True)
    console.print(t)
    last = steps[-1]["total"]
    console.print(f"kept {last['documents'] / max(first['documents'], 1):.1%} of documents and "
                  f"{last['characters'] / max(first['characters'], 1):.1%} of characters; "
                  f"{last['tokens']:,} tokens written")


def plot_funnel(funnel: dict[str, Any], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    steps = funnel["steps"]
    sources = funnel["sources"]
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.5))
    x = np.arange(len(steps))
    for ax, metric in zip(axes, METRICS, strict=True):
        bottom = np.zeros(len(steps))
        for s in sources:
            vals = np.array([st["per_source"][s][metric] or 0 for st in steps], dtype=float)
            ax.bar(x, vals, bottom=bottom, label=s)
            bottom += vals
        ax.set_xticks(x, [st["step"] for st in steps], rotation=20)
        ax.set_title(metric + (" (estimated before 'tokens')" if metric == "tokens" else ""))
    axes[0].legend(fontsize=8)
    fig.suptitle("data funnel per source")
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return path
