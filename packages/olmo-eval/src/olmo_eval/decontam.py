"""Decontamination: find training documents that contain evaluation paragraphs, and drop them.

1. Export: every instance's raw text (question, passage, choices, ...) is split into paragraphs;
   those of at least ``min_words`` words (13, as in OLMo's decontamination) become one document per
   instance (``eval_documents/<task>.jsonl.gz``).
2. A Bloom filter of those paragraphs is built with dolma-tools (extra ``decontam``), saved, and
   re-opened read-only (memory-mapped) for the scan.
3. Every training document's paragraphs are looked up; a hit is confirmed against the exact set of
   evaluation paragraphs (so Bloom false positives never drop a document, and each hit is attributed
   to its tasks and instances). A document with any confirmed paragraph is dropped; the others are
   written under ``clean/`` with the same relative paths.
4. ``report.json``: per task and per training source, documents and paragraphs matched;
   ``clean_flags.json``: ``{task: {instance id: clean}}`` for ``olmo-eval run --clean-flags``.

Files are processed in sorted order; each finished file leaves ``stats/<rel>.json`` so a rerun skips it.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from olmo_eval.tasks.registry import expand, get_task

MIN_WORDS = 13


def eval_paragraphs(task_names: Sequence[str], min_words: int = MIN_WORDS) -> dict[str, list[tuple[str, str]]]:
    """``paragraph -> [(task, instance id)]`` over the tasks' instances (paragraphs of >= min_words)."""
    table: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for name in task_names:
        task = get_task(name)
        for inst in task.instances():
            for para in dict.fromkeys(inst.texts):
                if len(para.split()) >= min_words:
                    table[para].append((name, inst.id))
    return dict(table)


def export_eval_documents(task_names: Sequence[str], out_dir: str | Path, min_words: int = MIN_WORDS) -> dict[str, int]:
    """Write one Dolma document per instance with qualifying paragraphs; returns documents per task."""
    from dolma_tools.docio import write_documents

    out = Path(out_dir)
    counts = {}
    for name in task_names:
        docs = []
        for inst in get_task(name).instances():
            paras = [p for p in dict.fromkeys(inst.texts) if len(p.split()) >= min_words]
            if paras:
                docs.append({"id": f"{name}/{inst.id}", "text": "\n".join(paras), "source": name,
                             "metadata": {"task": name, "instance": inst.id}})
        counts[name] = write_documents(out / f"{name.replace(':', '_')}.jsonl.gz", docs)
    return counts


def _dedupe_tasks(names: Iterable[str]) -> list[str]:
    """Lettered (``:mc``) variants share their data with the cloze task: scan each dataset once."""
    seen, out = set(), []
    for n in names:
        base = n.removesuffix(":mc")
        if base not in seen:
            seen.add(base)
            out.append(base)
    return out


def decontaminate(train: str | Path, out_dir: str | Path, *, tasks: str | Sequence[str] = "core9,mmlu",
                  min_words: int = MIN_WORDS, false_positive_rate: float = 1e-6, bloom_path: str | Path | None = None,
                  progress: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Scan the training documents under ``train`` and write clean copies, a report and clean flags."""
    from dolma_tools.dedupe import BloomFilter, build_paragraph_filter, mark_paragraphs
    from dolma_tools.docio import expand_inputs, iter_documents, write_documents

    requested = expand(tasks)
    names = _dedupe_tasks(requested)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    table = eval_paragraphs(names, min_words)
    export_eval_documents(names, out / "eval_documents", min_words)
    bloom_file = Path(bloom_path) if bloom_path else out / "eval_paragraphs.bloom"
    if not bloom_file.exists():
        build_paragraph_filter(list(table), false_positive_rate=false_positive_rate).save(bloom_file)
    bloom = BloomFilter.load(bloom_file, read_only=True)

    train = Path(train)
    files = expand_inputs(train)
    if not files:
        raise FileNotFoundError(f"{train}: no document files")
    for path in files:
        rel = path.relative_to(train) if train.is_dir() else Path(path.name)
        stats_path = out / "stats" / (str(rel) + ".json")
        if stats_path.exists():
            if progress:
                progress(1)
            continue
        docs = [doc for _, doc in iter_documents(path)]
        spans = mark_paragraphs([d.text for d in docs], bloom) if docs else []
        kept, dropped = [], []
        for doc, doc_spans in zip(docs, spans):
            hits = []
            for start, end, _ in doc_spans:
                para = doc.text[int(start):int(end)].removesuffix("\n")
                if para in table:  # confirmed: not a Bloom false positive
                    hits.append(para)
            source = doc.source or rel.parts[0]
            if hits:
                matched = sorted({f"{t}/{i}" for p in hits for t, i in table[p]})
                dropped.append({"id": doc.id, "source": source, "file": str(rel), "paragraphs": len(hits),
                                "matches": matched})
            else:
                kept.append(doc)
        write_documents(out / "clean" / rel, kept)
        stats = {"file": str(rel), "documents": len(docs), "kept": len(kept), "dropped": dropped,
                 "sources": dict(_count_sources(docs, rel))}
        stats_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = stats_path.with_name(stats_path.name + ".tmp")
        tmp.write_text(json.dumps(stats) + "\n")
        os.replace(tmp, stats_path)
        if progress:
            progress(1)
    return _report(out, files, train, requested, table)


def _count_sources(docs: Sequence[Any], rel: Path) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for d in docs:
        counts[d.source or rel.parts[0]] += 1
    return counts


def _report(out: Path, files: Sequence[Path], train: Path, requested: Sequence[str],
            table: dict[str, list[tuple[str, str]]]) -> dict[str, Any]:
    per_source: dict[str, dict[str, int]] = defaultdict(lambda: {"documents": 0, "documents_contaminated": 0,
                                                                 "paragraphs_matched": 0})
    per_task: dict[str, dict[str, Any]] = {}
    dirty: dict[str, set[str]] = defaultdict(set)
    task_docs: dict[str, set[str]] = defaultdict(set)
    task_paras: dict[str, int] = defaultdict(int)
    dropped_all = []
    for path in files:
        rel = path.relative_to(train) if train.is_dir() else Path(path.name)
        stats = json.loads((out / "stats" / (str(rel) + ".json")).read_text())
        for src, n in stats["sources"].items():
            per_source[src]["documents"] += n
        for d in stats["dropped"]:
            dropped_all.append(d)
            per_source[d["source"]]["documents_contaminated"] += 1
            per_source[d["source"]]["paragraphs_matched"] += d["paragraphs"]
            for m in d["matches"]:
                task, inst = m.rsplit("/", 1)
                dirty[task].add(inst)
                task_docs[task].add(d["id"])
    for tasks_of in table.values():
        for t in {t for t, _ in tasks_of}:
            task_paras[t] += 1
    clean_flags: dict[str, dict[str, bool]] = {}
    for name in requested:
        base = name.removesuffix(":mc")
        ids = [inst.id for inst in get_task(base).instances()]
        clean_flags[name] = {i: i not in dirty[base] for i in ids}
        per_task[name] = {"instances": len(ids), "instances_contaminated": len(dirty[base]),
                          "eval_paragraphs": task_paras[base], "training_documents_matched": len(task_docs[base])}
    report = {"training_files": len(files), "documents": sum(s["documents"] for s in per_source.values()),
              "documents_dropped": len(dropped_all), "per_source": dict(per_source), "per_task": per_task,
              "dropped": dropped_all}
    for name, obj in (("report.json", report), ("clean_flags.json", clean_flags)):
        tmp = out / (name + ".tmp")
        tmp.write_text(json.dumps(obj, indent=1) + "\n")
        os.replace(tmp, out / name)
    return report
