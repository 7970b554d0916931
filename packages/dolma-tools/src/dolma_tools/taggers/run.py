"""Tagging files: documents in, one attributes file per tagger set out, parallel line by line.

Attribute names are ``<set>__<tagger>__<attribute>`` (Dolma's convention). With an ``experiment``
name every tagger writes into one set of that name; without one each tagger is its own set. With
``on_error="skip"`` bad document lines are skipped and counted, and the attributes file holds one
line per document that was read (the mixer applies the same policy, so the files stay parallel).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolma_tools.atomic import remove_stale_temporaries
from dolma_tools.docio import (
    ErrorLog,
    atomic_output,
    attributes_file,
    expand_inputs_with_base,
    read_documents,
)
from dolma_tools.executor import Reporter, RunSummary, Task, run_tasks
from dolma_tools.faults import fault_point
from dolma_tools.taggers import Tagger, get_tagger


@dataclass
class TaggerSpec:
    """A tagger name and its options; parsed from ``name`` or ``name:key=value,key=value``."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> TaggerSpec:
        name, _, rest = text.partition(":")
        options: dict[str, Any] = {}
        for item in filter(None, rest.split(",")):
            key, sep, value = item.partition("=")
            if not sep:
                raise ValueError(f"tagger option {item!r} in {text!r} must be key=value")
            try:
                options[key] = json.loads(value)
            except json.JSONDecodeError:
                options[key] = value
        return cls(name=name, options=options)


_CACHE: dict[str, Tagger] = {}


def _tagger(name: str, options: dict[str, Any]) -> Tagger:
    key = name + json.dumps(options, sort_keys=True)
    if key not in _CACHE:
        _CACHE[key] = get_tagger(name, **options)
    return _CACHE[key]


def tag_file(payload: dict[str, Any], report: Reporter) -> dict[str, Any]:
    """Work function for one document file (see :func:`tag`). Returns stats."""
    sets: dict[str, list[list[Any]]] = payload["sets"]  # set -> [[tagger, options], ...]
    outputs: dict[str, str] = payload["outputs"]
    taggers = {s: [(t, _tagger(t, o)) for t, o in specs] for s, specs in sets.items()}
    errors = ErrorLog()
    docs = nbytes = pending_docs = pending_bytes = 0
    timing = {t: 0.0 for specs in sets.values() for t, _ in specs}
    from contextlib import ExitStack

    for out in outputs.values():
        remove_stale_temporaries(out)
    with ExitStack() as stack:
        # attributes are intermediate files: fastest gzip/zstd level (gzip 9 would double the run)
        files = {s: stack.enter_context(atomic_output(outputs[s], "w", compresslevel=1)) for s in sets}
        for _, doc in read_documents(payload["path"], on_error=payload.get("on_error", "raise"), errors=errors):
            for set_name, items in taggers.items():
                attrs: dict[str, Any] = {}
                for tname, tagger in items:
                    t0 = time.perf_counter()
                    for attr, spans in tagger.predict(doc).items():
                        attrs[f"{set_name}__{tname}__{attr}"] = spans
                    timing[tname] += time.perf_counter() - t0
                files[set_name].write(json.dumps({"id": doc.id, "attributes": attrs}, ensure_ascii=False) + "\n")
            fault_point("tag.attributes_write")  # chaos tests: a kill with attributes half written
            size = len(doc.text)
            docs += 1
            nbytes += size
            pending_docs += 1
            pending_bytes += size
            if pending_docs >= 100:
                report(docs=pending_docs, nbytes=pending_bytes)
                pending_docs = pending_bytes = 0
    report(docs=pending_docs, nbytes=pending_bytes)
    return {"docs": docs, "chars": nbytes, "errors": errors.to_json(), "tagger_seconds": timing,
            "source": payload.get("rel", "")}


def plan_sets(taggers: list[TaggerSpec], experiment: str | None) -> dict[str, list[list[Any]]]:
    if experiment:
        return {experiment: [[t.name, t.options] for t in taggers]}
    return {t.name: [[t.name, t.options]] for t in taggers}


def tag(documents: str | list[str], taggers: list[str | TaggerSpec], *, experiment: str | None = None,
        attributes_root: str | Path | None = None, executor: str = "local", processes: int | None = None,
        on_error: str = "raise", progress: bool = True, ray_address: str | None = None) -> RunSummary:
    """Tag every document file; attributes go next to ``documents/`` folders (Dolma layout) or under
    ``attributes_root/<set>/<relative path>``. Finished files are skipped on a second run."""
    specs = [t if isinstance(t, TaggerSpec) else TaggerSpec.parse(t) for t in taggers]
    for s in specs:  # fail fast on unknown names and bad options, before any worker starts
        _tagger(s.name, s.options)
    from dolma_tools.taggers.chartables import unicode_classes

    unicode_classes()  # built once here, shared by the forked workers
    sets = plan_sets(specs, experiment)
    files = expand_inputs_with_base(documents)
    if not files:
        raise FileNotFoundError(f"no document files in {documents!r}")
    tasks = []
    for path, base in files:
        # absolute paths: Ray workers do not share the driver's working directory
        path, base = path.resolve(), base.resolve()
        outputs = {s: str(attributes_file(path, s, base=base, attributes_root=attributes_root).resolve())
                   for s in sets}
        tasks.append(Task(key=str(path.resolve()), size=path.stat().st_size,
                          payload={"path": str(path), "rel": str(path.relative_to(base)), "sets": sets,
                                   "outputs": outputs, "on_error": on_error}))
    first = Path(next(iter(tasks[0].payload["outputs"].values())))
    attributes_root = Path(attributes_root).resolve() if attributes_root is not None else None
    root = Path(attributes_root) if attributes_root is not None else _attributes_root(first, next(iter(sets)))
    done_dir = root / ".done" / ("tag-" + "+".join(sorted(sets)))
    return run_tasks(tag_file, tasks, executor=executor, processes=processes, done_dir=done_dir,
                     description=f"tag {','.join(sets)}", progress=progress, ray_address=ray_address)


def _attributes_root(out: Path, set_name: str) -> Path:
    parts = out.parts
    i = len(parts) - 1 - parts[::-1].index(set_name)
    return Path(*parts[:i])
