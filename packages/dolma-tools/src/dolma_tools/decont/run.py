"""``decontaminate``: index the eval documents, scan the training documents, write flags and a report.

Layout under ``destination``:

- ``index/eval-<key>.bloom``: the cached filter (``DecontConfig.index_dir`` to share one elsewhere);
- ``attributes/<name>/<rel>``: per training document, the spans of its contaminated paragraphs;
- ``clean/<rel>``: the training documents without any (when ``drop``);
- ``eval_attributes/<rel>``: per eval document, the spans of its paragraphs seen in training data
  (``<rel>`` mirrors the eval document files: the per-instance flags read back by olmo-eval);
- ``report.json``: counts per training source and per eval source, and every contaminated document;
- ``stats/<key>/<rel>.json``: one per scanned training file, so a rerun with the same index skips it
  (a run with another index forgets them: it rewrites the outputs they describe).

The formats are in ``docs/interfaces.md`` (Decontamination)."""

from __future__ import annotations

import json
import shutil
from collections import defaultdict
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from dolma_tools.atomic import sweep_temporaries, write_json_atomic
from dolma_tools.decont.config import DecontConfig
from dolma_tools.decont.filter import DecontFilter
from dolma_tools.decont.index import DecontIndex
from dolma_tools.dedupe.layout import input_files, write_attribute_file
from dolma_tools.docio import attributes_file
from dolma_tools.executor.ordered import ordered_map
from dolma_tools.executor.tasks import default_processes

REPORT_FORMAT = "dolma-tools/decont-report"
REPORT_VERSION = 1


def decontaminate(eval_documents: Any, documents: Any, destination: str | Path, config: DecontConfig | None = None,
                  *, progress: Callable[[int], None] | None = None, executor: str = "local",
                  processes: int | None = None, ray_address: str | None = None) -> dict[str, Any]:
    """Index ``eval_documents``, scan ``documents`` (files, folders or globs) and write the layout
    above; returns the report. ``progress(1)`` is called per training file.

    The index is built here; the scans run one after another in this process (``executor="local"``,
    the default) or as one Ray task per training file (``"ray"``, ``processes`` CPUs for a local
    instance, default all), and their stats are assembled here in input order either way."""
    config = config or DecontConfig()
    out = Path(destination)
    sweep_temporaries(out, recursive=True)  # what a killed run was writing (a shared index_dir: Bloom.save)
    # the report is written last: it exists only while every output it describes is complete
    (out / "report.json").unlink(missing_ok=True)
    index = config.build_index(eval_documents, out / "index")
    decont = config.build_filter(index)
    files = input_files(documents)
    _forget_other_indexes(out / "stats", index.key)
    stats = []
    scan = partial(_scan_one, config, decont, out, index)
    workers = 1 if executor == "local" else (processes or default_processes())
    for record in ordered_map(scan, files, workers, executor=executor, ray_address=ray_address):
        stats.append(record)
        if progress:
            progress(1)
    _write_eval_attributes(config, index, stats, out / "eval_attributes")
    report = _report(config, index, stats)
    write_json_atomic(out / "report.json", report, indent=1)
    return report


def _forget_other_indexes(stats_root: Path, key: str) -> None:
    """Scans finished against another index are stale once a run with this one may have rewritten
    their outputs (``clean/``, ``attributes/``): only the current index's stats may be resumed."""
    if stats_root.is_dir():
        for child in stats_root.iterdir():
            if child.name != key:
                shutil.rmtree(child, ignore_errors=True)


def _scan_one(config: DecontConfig, decont: DecontFilter, out: Path, index: DecontIndex,
              file: tuple[Path, Path]) -> dict[str, Any]:
    return _scan(config, decont, file[0], file[1], out, index)


def _scan(config: DecontConfig, decont: DecontFilter, path: Path, base: Path, out: Path,
          index: DecontIndex) -> dict[str, Any]:
    """One training file, or its stats from a finished scan against the same index and file."""
    rel = path.relative_to(base)
    st = path.stat()
    identity = [str(path.resolve()), st.st_size, st.st_mtime_ns, config.drop, config.attribute]
    stats_path = out / "stats" / index.key / (str(rel) + ".json")
    if stats_path.is_file():
        record = json.loads(stats_path.read_text(encoding="utf-8"))
        if record.get("input") == identity:
            return record
    attributes = attributes_file(path, config.name, base=base, attributes_root=out / "attributes")
    record = {"input": identity, **decont.scan_file(path, rel, attributes, out / "clean" / rel if config.drop else None)}
    write_json_atomic(stats_path, record)
    return record


def _write_eval_attributes(config: DecontConfig, index: DecontIndex, stats: list[dict[str, Any]], root: Path) -> None:
    """Per eval document, the spans of its paragraphs that training documents contain."""
    seen: dict[str, set[tuple[int, int]]] = defaultdict(set)
    for st in stats:
        for doc in st["contaminated"]:
            for eval_id, s, e in doc["eval_paragraphs"]:
                seen[eval_id].add((s, e))
    shutil.rmtree(root, ignore_errors=True)  # files of an earlier eval export must not linger
    for f in index.files:
        ids = index.doc_ids[f.first:f.first + f.count]
        # a paragraph span includes its newline, as on the training side
        spans = [[[s, min(e + 1, index.doc_lengths[f.first + i]), 1.0] for s, e in sorted(seen.get(doc_id, ()))]
                 for i, doc_id in enumerate(ids)]
        path = attributes_file(f.path, root.name, base=f.base, attributes_root=root.parent)
        write_attribute_file(path, ids, config.attribute, spans)


def _report(config: DecontConfig, index: DecontIndex, stats: list[dict[str, Any]]) -> dict[str, Any]:
    per_source: dict[str, dict[str, int]] = defaultdict(
        lambda: {"documents": 0, "documents_contaminated": 0, "paragraphs_matched": 0})
    eval_docs: dict[str, set[str]] = defaultdict(set)
    train_docs: dict[str, set[str]] = defaultdict(set)
    contaminated = []
    kept: dict[str, dict[str, int]] = defaultdict(lambda: {"documents": 0, "characters": 0})
    source_of = dict(zip(index.doc_ids, index.doc_sources, strict=True))
    for st in stats:
        for src, n in st["sources"].items():
            per_source[src]["documents"] += n
            kept[src]["documents"] += n
        for src, n in st["kept_characters"].items():
            kept[src]["characters"] += n
        for d in st["contaminated"]:
            contaminated.append({k: d[k] for k in ("id", "source", "file", "paragraphs", "matches")})
            per_source[d["source"]]["documents_contaminated"] += 1
            per_source[d["source"]]["paragraphs_matched"] += d["paragraphs"]
            kept[d["source"]]["documents"] -= int(config.drop)
            for eval_id in d["matches"]:
                eval_docs[source_of[eval_id]].add(eval_id)
                train_docs[source_of[eval_id]].add(d["id"])
    documents_per_source: dict[str, int] = defaultdict(int)
    for src in index.doc_sources:
        documents_per_source[src] += 1
    per_eval_source = {src: {"eval_documents": n, "eval_paragraphs": index.paragraphs_per_source.get(src, 0),
                             "eval_documents_contaminated": len(eval_docs[src]),
                             "training_documents_matched": len(train_docs[src])}
                       for src, n in sorted(documents_per_source.items())}
    documents = sum(s["documents"] for s in per_source.values())
    return {"format": REPORT_FORMAT, "version": REPORT_VERSION, "attribute": config.attribute,
            "drop": config.drop, "index": index.summary(), "training_files": len(stats), "documents": documents,
            "documents_contaminated": len(contaminated),
            "documents_dropped": len(contaminated) if config.drop else 0,
            "per_source": dict(sorted(per_source.items())), "per_eval_source": per_eval_source,
            "kept_per_source": dict(sorted(kept.items())),
            "contaminated": contaminated}
