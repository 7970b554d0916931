"""Plots (matplotlib, Agg) and a markdown summary of an analysis report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dolma_tools.analysis.collect import LENGTH_BINS, FileStats
from dolma_tools.atomic import write_text_atomic


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_plots(report: dict[str, Any], total: FileStats, destination: Path) -> list[str]:
    plt = _plt()
    written = []
    sources = list(report["per_source"])
    metrics = [m for m in ("documents", "characters", "tokens") if report["totals"].get(m)]
    fig, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4))
    for ax, m in zip(axes if len(metrics) > 1 else [axes], metrics, strict=True):
        ax.bar(sources, [report["per_source"][s][m] or 0 for s in sources], color="tab:blue")
        ax.set_title(f"{m} per source")
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    written.append(_save(fig, destination / "sources.png", plt))

    fig, ax = plt.subplots(figsize=(7, 4))
    centers = (LENGTH_BINS[:-1] + LENGTH_BINS[1:]) / 2
    for s, st in sorted(total.per_source.items()):
        ax.plot(10 ** centers, st.length_hist, label=s, drawstyle="steps-mid")
    ax.set_xscale("log")
    ax.set_xlabel("document length (characters)")
    ax.set_ylabel("documents")
    ax.legend(fontsize=7)
    written.append(_save(fig, destination / "lengths.png", plt))

    attrs = report["attributes"]
    if attrs:
        keys = list(attrs)[:24]
        cols = 4
        rows = (len(keys) + cols - 1) // cols
        fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
        for ax, k in zip(axes.ravel(), keys, strict=False):
            h = attrs[k]["histogram"]
            ax.stairs(h["counts"], h["edges"], fill=True)
            ax.set_title(k.split("__", 1)[-1], fontsize=7)
        for ax in axes.ravel()[len(keys):]:
            ax.axis("off")
        fig.tight_layout()
        written.append(_save(fig, destination / "attributes.png", plt))

    if report["languages"]:
        langs = list(report["languages"].items())[:20]
        fig, ax = plt.subplots(figsize=(7, 3.5))
        ax.bar([lang for lang, _ in langs], [c for _, c in langs], color="tab:green")
        ax.set_title("documents by language")
        written.append(_save(fig, destination / "languages.png", plt))

    for n, info in report["ngrams"].items():
        top = info["top"][:20]
        if not top:
            continue
        fig, ax = plt.subplots(figsize=(7, 0.3 * len(top) + 1))
        ax.barh([g[:40] for g, _ in reversed(top)], [c for _, c in reversed(top)], color="tab:orange")
        ax.set_title(f"top {n}-grams ({info['method']})")
        ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        written.append(_save(fig, destination / f"ngrams_{n}.png", plt))
    return written


def _save(fig: Any, path: Path, plt: Any) -> str:
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def write_markdown(report: dict[str, Any], path: Path) -> None:
    t = report["totals"]
    lines = ["# Corpus analysis", "",
             f"{t['documents']:,} documents, {t['characters']:,} characters, {t['bytes']:,} bytes"
             + (f", {t['tokens']:,} tokens" if t.get("tokens") else "") + f" in {report.get('files', '?')} files.", "",
             "| source | documents | characters | tokens | top language |", "| --- | ---: | ---: | ---: | --- |"]
    for s, st in report["per_source"].items():
        lang = next(iter(st["languages"]), "")
        lines.append(f"| {s} | {st['documents']:,} | {st['characters']:,} | {st['tokens'] or 0:,} | {lang} |")
    dups = [(s, k, v) for s, st in report["per_source"].items() for k, v in st["duplicates"].items()]
    if dups:
        lines += ["", "## Duplicates", "", "| source | attribute | documents with duplicates | characters |",
                  "| --- | --- | ---: | ---: |"]
        lines += [f"| {s} | {k} | {v['document_rate']:.1%} | {v['character_rate']:.1%} |" for s, k, v in dups]
    if "contamination" in report:
        c = report["contamination"]
        lines += ["", "## Contamination", "",
                  f"{c['documents']:,} documents ({c['document_rate']:.2%}) and {c['characters']:,} characters "
                  f"({c['character_rate']:.2%}) match paragraphs of the filter `{c['filter']}`."]
    if report["languages"]:
        lines += ["", "## Languages", "", ", ".join(f"{k}: {v:,}" for k, v in list(report["languages"].items())[:10])]
    for n, info in report["ngrams"].items():
        top = ", ".join(f"`{g}` ({c:,})" for g, c in info["top"][:10])
        lines += ["", f"## Top {n}-grams ({info['method']}, {info['total']:,} in all)", "", top]
    write_text_atomic(path, "\n".join(lines) + "\n")
