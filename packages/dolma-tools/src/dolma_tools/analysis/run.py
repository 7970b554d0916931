"""``analyze``: corpus statistics as JSON, PNG plots and a short markdown summary (what WIMBD
reports for Dolma: sizes per source, attribute distributions, languages, duplicates, frequent
n-grams, contamination)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dolma_tools.analysis.collect import LENGTH_BINS, FileStats, FileTask, collect_file
from dolma_tools.dedupe.layout import input_files, ordered_map
from dolma_tools.docio import atomic_output, attributes_file


@dataclass
class AnalysisConfig:
    attributes: list[str] = field(default_factory=list)  # attribute sets to read
    attributes_root: str | None = None  # default: the Dolma layout beside documents/
    ngram_sizes: list[int] = field(default_factory=lambda: [1, 2, 3])
    top_k: int = 20
    exact_ngram_limit_bytes: int = 8_000_000  # inputs bigger than this (on disk) use the sketch
    tokenizer: str | None = "default"  # None: skip token counts
    contamination_filter: str | None = None
    language_model: str | None = None  # run fastText lid when no language attributes exist
    processes: int = 1


def analyze(inputs: str | Path | Iterable[str | Path], destination: str | Path,
            config: AnalysisConfig | None = None) -> dict[str, Any]:
    config = config or AnalysisConfig()
    t0 = time.perf_counter()
    files = input_files(inputs)
    exact = sum(p.stat().st_size for p, _ in files) <= config.exact_ngram_limit_bytes
    tokenizer = None
    if config.tokenizer is not None:
        from dolma_tools.tokens.tokenizer import DEFAULT_TOKENIZER

        tokenizer = DEFAULT_TOKENIZER if config.tokenizer == "default" else config.tokenizer
    tasks = [FileTask(path=p, attribute_files=tuple(attributes_file(p, s, base=b, attributes_root=config.attributes_root)
                                                    for s in config.attributes),
                      ngram_sizes=tuple(config.ngram_sizes), exact_ngrams=exact, tokenizer=tokenizer,
                      contamination_filter=config.contamination_filter, language_model=config.language_model)
             for p, b in files]
    total = FileStats()
    for part in ordered_map(collect_file, tasks, config.processes):
        total.merge(part)
    report = build_report(total, config, exact=exact)
    if not report["totals"].get("documents"):  # nothing to plot or count: say so before writing anything
        raise ValueError(f"{', '.join(str(p) for p, _ in files[:5])}: no documents to analyze (empty input)")
    report["files"] = len(files)
    report["seconds"] = round(time.perf_counter() - t0, 3)
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    with atomic_output(destination / "analysis.json", "w") as f:
        f.write(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    from dolma_tools.analysis.report import write_markdown, write_plots

    report["plots"] = write_plots(report, total, destination)
    write_markdown(report, destination / "summary.md")
    return report


def build_report(total: FileStats, config: AnalysisConfig, *, exact: bool) -> dict[str, Any]:
    per_source: dict[str, Any] = {}
    for name, st in sorted(total.per_source.items()):
        per_source[name] = {
            "documents": st.documents, "characters": st.characters, "bytes": st.bytes, "words": st.words,
            "tokens": st.tokens if config.tokenizer is not None else None,
            "length_histogram": {"log10_chars_bins": LENGTH_BINS.tolist(), "counts": st.length_hist.tolist()},
            "languages": dict(st.languages.most_common()),
            "duplicates": {k: {"documents": st.dup_documents[k], "document_rate": st.dup_documents[k] / st.documents,
                               "characters": st.dup_characters[k],
                               "character_rate": st.dup_characters[k] / max(st.characters, 1)}
                           for k in sorted(st.dup_documents)},
        }
        if config.contamination_filter is not None:
            per_source[name]["contamination"] = {
                "documents": st.contaminated_documents,
                "document_rate": st.contaminated_documents / st.documents,
                "characters": st.contaminated_characters,
                "character_rate": st.contaminated_characters / max(st.characters, 1)}
    attrs = {}
    for key, vals in sorted(total.attribute_values.items()):
        v = np.asarray(vals, dtype=np.float64)
        counts, edges = np.histogram(v, bins=20)
        attrs[key] = {"documents": len(v), "mean": float(v.mean()), "min": float(v.min()), "max": float(v.max()),
                      "quantiles": {q: float(np.quantile(v, float(q))) for q in ("0.1", "0.5", "0.9")},
                      "histogram": {"edges": edges.tolist(), "counts": counts.tolist()}}
    totals = {k: sum(s[k] or 0 for s in per_source.values()) for k in ("documents", "characters", "bytes",
                                                                       "words", "tokens")}
    langs: dict[str, int] = {}
    for s in per_source.values():
        for lang, c in s["languages"].items():
            langs[lang] = langs.get(lang, 0) + c
    ngrams = {str(n): {"method": "exact" if c.exact else "count-min sketch", "total": c.total,
                       "top": [[g, k] for g, k in c.top(config.top_k)]}
              for n, c in sorted(total.ngrams.items())}
    out: dict[str, Any] = {"totals": totals, "per_source": per_source, "attributes": attrs,
                           "languages": dict(sorted(langs.items(), key=lambda kv: -kv[1])), "ngrams": ngrams}
    if config.contamination_filter is not None:
        docs = sum(s["contamination"]["documents"] for s in per_source.values())
        chars = sum(s["contamination"]["characters"] for s in per_source.values())
        out["contamination"] = {"filter": config.contamination_filter, "documents": docs,
                                "document_rate": docs / max(totals["documents"], 1), "characters": chars,
                                "character_rate": chars / max(totals["characters"], 1)}
    return out
