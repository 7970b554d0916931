"""Decontamination, olmo-eval's two ends of it; the scan itself is dolma-tools' (``dolma-tools
decontaminate``), met only through files (docs/interfaces.md, Decontamination):

1. :func:`export_eval_documents`: one Dolma document per eval instance, its text the instance's
   paragraphs (question, passage, choices, ...) one per line, written as
   ``<out>/<task>.jsonl.gz`` with id ``<task>/<instance id>``. Which paragraphs count (at least 13
   words, as in OLMo's decontamination) is decided by dolma-tools' index, in one place.
2. ``dolma-tools decontaminate --eval-documents <out> ...`` indexes them, drops the training
   documents holding one and writes, per eval document, the spans of its paragraphs seen in
   training data (``eval_attributes/``) and a ``report.json``.
3. :func:`read_contamination`: per-instance flags ``{task: {instance id: clean}}`` (for
   ``olmo-eval run --clean-flags``) and per-task counts, read back from that folder.

Lettered (``:mc``) variants share their data with the cloze task: each dataset is exported once and
the variant reads the flags of its base task.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from olmo_eval.files import read_jsonl_gz, write_json, write_jsonl
from olmo_eval.tasks import expand, get_task

#: what ``dolma-tools decontaminate`` writes as ``report.json`` (the version this reader knows)
REPORT_FORMAT = "dolma-tools/decont-report"
REPORT_VERSION = 1


def eval_document_id(task: str, instance_id: str) -> str:
    return f"{task}/{instance_id}"


def base_tasks(names: Iterable[str]) -> list[str]:
    """The datasets behind task names, in order, once each (``arc_easy:mc`` -> ``arc_easy``)."""
    return list(dict.fromkeys(n.removesuffix(":mc") for n in names))


def export_eval_documents(tasks: str | Sequence[str], out_dir: str | Path) -> dict[str, int]:
    """Write one Dolma document per instance with any text; returns documents per task file."""
    out = Path(out_dir)
    counts = {}
    for name in base_tasks(expand(tasks)):
        docs = []
        for inst in get_task(name).instances():
            paragraphs = list(dict.fromkeys(inst.texts))
            if paragraphs:
                docs.append({"id": eval_document_id(name, inst.id), "text": "\n".join(paragraphs), "source": name,
                             "metadata": {"task": name, "instance": inst.id}})
        write_jsonl(out / f"{name.replace(':', '_')}.jsonl.gz", docs, gzip_level=6)
        counts[name] = len(docs)
    return counts


def _read_report(decontaminated: Path) -> dict[str, Any]:
    path = decontaminated / "report.json"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no report; run `dolma-tools decontaminate --destination {decontaminated}`")
    data = path.read_bytes()
    try:
        report = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ValueError(f"{path}: line {line}: invalid UTF-8") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{path}: line {e.lineno}: not JSON ({e.msg})") from None
    if not isinstance(report, dict):
        raise ValueError(f"{path}: holds a {type(report).__name__}, not a JSON object")
    if report.get("format") != REPORT_FORMAT or report.get("version") != REPORT_VERSION:
        raise ValueError(f"{path}: format {report.get('format')!r} version {report.get('version')!r}; "
                         f"this reader knows {REPORT_FORMAT!r} version {REPORT_VERSION}")
    if not isinstance(report.get("attribute"), str):
        raise ValueError(f"{path}: field 'attribute' is {report.get('attribute')!r}, not a string")
    sources = report.get("per_eval_source")
    for name, src in (sources.items() if isinstance(sources, dict) else [("", None)]):
        if not isinstance(src, dict) or not all(type(src.get(k)) is int
                                                for k in ("eval_paragraphs", "training_documents_matched")):
            raise ValueError(f"{path}: field 'per_eval_source{'.' + name if name else ''}' must map sources to "
                             "integer counts eval_paragraphs and training_documents_matched")
    return report


def contaminated_eval_documents(decontaminated: str | Path) -> set[str]:
    """Ids of the eval documents with any paragraph seen in training data (``eval_attributes/``)."""
    root = Path(decontaminated)
    attribute = _read_report(root)["attribute"]
    dirty = set()
    for path in sorted((root / "eval_attributes").rglob("*.jsonl.gz")):
        records = 0
        for lineno, rec in read_jsonl_gz(path):
            records += 1
            try:
                if rec["attributes"].get(attribute):
                    dirty.add(str(rec["id"]))
            except (KeyError, TypeError, AttributeError) as e:
                raise ValueError(f"{path}:{lineno}: not an attributes record ({e})") from e
        if not records:  # one record per eval document is written: an empty file would read as all clean
            raise ValueError(f"{path}: empty, no attributes records")
    return dirty


def read_contamination(decontaminated: str | Path, tasks: str | Sequence[str]
                       ) -> tuple[dict[str, dict[str, bool]], dict[str, dict[str, int]]]:
    """``({task: {instance id: clean}}, {task: counts})`` from a ``dolma-tools decontaminate`` folder
    whose eval documents were exported by :func:`export_eval_documents` for these tasks."""
    root = Path(decontaminated)
    per_source = _read_report(root)["per_eval_source"]
    requested = expand(tasks)
    missing = [t for t in base_tasks(requested) if t not in per_source]
    if missing:
        raise ValueError(f"{root / 'report.json'}: no eval documents of {', '.join(missing)}; export them "
                         "(olmo-eval decontaminate export) and rerun dolma-tools decontaminate")
    dirty = contaminated_eval_documents(root)
    flags: dict[str, dict[str, bool]] = {}
    per_task: dict[str, dict[str, int]] = {}
    for name in requested:
        base = name.removesuffix(":mc")
        flags[name] = {inst.id: eval_document_id(base, inst.id) not in dirty for inst in get_task(base).instances()}
        src = per_source[base]
        per_task[name] = {"instances": len(flags[name]),
                          "instances_contaminated": sum(not clean for clean in flags[name].values()),
                          "eval_paragraphs": src["eval_paragraphs"],
                          "training_documents_matched": src["training_documents_matched"]}
    return flags, per_task


def write_clean_flags(path: str | Path, flags: dict[str, dict[str, bool]]) -> Path:
    """``clean_flags.json``, as ``olmo-eval run --clean-flags`` reads it."""
    return write_json(path, flags, indent=1)
