"""The mixer: keep or drop documents by rules over their attributes, replace spans, sample per
source, and write shards of bounded size. One task per document file; deterministic for a seed."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any

import xxhash

from dolma_tools.atomic import remove_stale_temporaries
from dolma_tools.docio import (
    ErrorLog,
    atomic_output,
    attributes_file,
    expand_inputs_with_base,
    iter_attributes,
    read_documents,
)
from dolma_tools.executor import Reporter, RunSummary, Task, run_tasks
from dolma_tools.faults import fault_point
from dolma_tools.interfaces import Document, FormatError
from dolma_tools.mixer.config import MixConfig
from dolma_tools.mixer.expressions import AttributeView, Expression
from dolma_tools.mixer.spans import replace_spans


class ShardWriter:
    """``<stem>-0000<suffix>``, ``-0001``... each renamed into place when full or at the end."""

    def __init__(self, stack: ExitStack, stem: Path, suffix: str, max_bytes: int) -> None:
        self.stack, self.stem, self.suffix, self.max_bytes = stack, stem, suffix, max_bytes
        self.index, self.size, self.paths = 0, 0, []
        self._cm: Any = None
        self._f: IO[str] | None = None

    def write(self, line: str) -> None:
        n = len(line.encode("utf-8"))
        if self._f is not None and self.size + n > self.max_bytes and self.size > 0:
            self.close()
        if self._f is None:
            path = Path(f"{self.stem}-{self.index:04d}{self.suffix}")
            remove_stale_temporaries(path)
            self._cm = atomic_output(path, "w")
            self._f = self._cm.__enter__()
            self.paths.append(str(path))
            self.index += 1
            self.size = 0
        self._f.write(line)
        self.size += n
        fault_point("mix.shard_write")  # chaos tests: a kill with a shard half written

    def close(self) -> None:
        if self._cm is not None:
            self._cm.__exit__(None, None, None)
        self._cm = self._f = None

    def abort(self, exc: BaseException) -> None:
        if self._cm is not None:
            self._cm.__exit__(type(exc), exc, exc.__traceback__)
        self._cm = self._f = None


def copies_for(doc_id: str, source: str, rate: float, seed: int) -> int:
    """How many times a document is written at sampling ``rate``: floor(rate) plus one more with
    probability frac(rate), decided by a 64-bit hash of (seed, source, id)."""
    whole = math.floor(rate)
    frac = rate - whole
    if frac <= 0:
        return int(whole)
    u = xxhash.xxh64_intdigest(f"{seed}\x00{source}\x00{doc_id}".encode()) / 2.0**64
    return int(whole) + (1 if u < frac else 0)


def _zip_attributes(doc_iter: Iterator[tuple[int, Document]], attr_paths: list[str], on_error: str,
                    errors: ErrorLog) -> Iterator[tuple[int, Document, dict[str, Any] | None]]:
    """Documents with their merged attributes; ids and line counts must agree with every file."""
    attr_iters = [iter_attributes(p) for p in attr_paths]
    for lineno, doc in doc_iter:
        merged: dict[str, Any] = {}
        bad: FormatError | None = None
        for path, it in zip(attr_paths, attr_iters, strict=True):
            rec = next(it, None)
            if rec is None:
                bad = FormatError(f"attributes file has fewer lines than its documents (document {doc.id!r} "
                                  f"at line {lineno} has none)", path=path)
                break
            a_line, record = rec
            if record.id != doc.id:
                bad = FormatError(f"attributes id {record.id!r} does not match document id {doc.id!r} "
                                  f"(documents line {lineno})", path=path, line=a_line, field="id")
                break
            merged.update(record.attributes)
        if bad is not None:
            if on_error == "raise":
                raise bad
            errors.add("attributes_mismatch", str(bad))
            yield lineno, doc, None
            continue
        yield lineno, doc, merged
    for path, it in zip(attr_paths, attr_iters, strict=True):
        extra = next(it, None)
        if extra is not None:
            err = FormatError("attributes file has more lines than its documents", path=path, line=extra[0])
            if on_error == "raise":
                raise err
            errors.add("attributes_mismatch", str(err))


def _new_source_stats(include: dict[str, str], exclude: dict[str, str]) -> dict[str, Any]:
    return {"docs": 0, "kept": 0, "removed": 0, "written": 0, "chars_in": 0, "chars_out": 0,
            "removed_by": {}, "fired": {}, "replaced": {}, "skipped_bad_input": 0}


def mix_file(payload: dict[str, Any], report: Reporter) -> dict[str, Any]:
    """Work function for one document file (see :func:`mix`)."""
    cfg: dict[str, Any] = payload["config"]
    on_error = payload.get("on_error", "raise")
    include = [(n, Expression(e, n)) for n, e in cfg["include"].items()]
    exclude = [(n, Expression(e, n)) for n, e in cfg["exclude"].items()]
    replacements = [(r.get("name") or r["attribute"], r["attribute"], float(r["min_score"]), r["replacement"])
                    for r in cfg["span_replacement"]]
    sample: dict[str, float] = cfg["sample"]
    errors = ErrorLog()
    per_source: dict[str, dict[str, Any]] = {}
    default_source = Path(payload["rel"]).parts[0] if len(Path(payload["rel"]).parts) > 1 else ""
    pending = 0
    with ExitStack() as stack:
        writer = ShardWriter(stack, Path(payload["output_stem"]), cfg["suffix"], int(cfg["max_size_bytes"]))
        try:
            docs = read_documents(payload["path"], on_error=on_error, errors=errors)
            for _, doc, attrs in _zip_attributes(docs, payload["attributes"], on_error, errors):
                source = doc.source or default_source
                st = per_source.setdefault(source, _new_source_stats(cfg["include"], cfg["exclude"]))
                st["docs"] += 1
                st["chars_in"] += len(doc.text)
                pending += 1
                if pending >= 100:
                    report(docs=pending)
                    pending = 0
                if attrs is None:
                    st["skipped_bad_input"] += 1
                    st["removed"] += 1
                    _bump(st["removed_by"], "bad_input")
                    continue
                view = AttributeView(attrs)
                fired = [n for n, ex in include if not ex(view)] + [n for n, ex in exclude if ex(view)]
                for n in fired:
                    _bump(st["fired"], n)
                if fired:
                    st["removed"] += 1
                    _bump(st["removed_by"], fired[0])
                    continue
                text = doc.text
                if replacements:
                    spans = []
                    for name, attr, min_score, rep in replacements:
                        for s in view.spans(attr) or ():
                            if s[2] >= min_score:
                                spans.append((s[0], s[1], rep))
                                _bump(st["replaced"], name)
                    text, _ = replace_spans(text, spans)
                if cfg["drop_empty"] and not text.strip():
                    st["removed"] += 1
                    _bump(st["removed_by"], "empty_after_span_replacement")
                    _bump(st["fired"], "empty_after_span_replacement")
                    continue
                n_copies = copies_for(doc.id, source, sample[source], cfg["seed"]) if source in sample else 1
                if n_copies == 0:
                    st["removed"] += 1
                    _bump(st["removed_by"], "sampled_out")
                    continue
                st["kept"] += 1
                out = doc.to_json()
                out["text"] = text
                for i in range(n_copies):
                    if i:
                        out["id"] = f"{doc.id}#r{i}"
                    writer.write(json.dumps(out, ensure_ascii=False) + "\n")
                    st["written"] += 1
                    st["chars_out"] += len(text)
        except BaseException as e:
            writer.abort(e)
            raise
        writer.close()
    report(docs=pending)
    return {"docs": sum(s["docs"] for s in per_source.values()), "sources": per_source,
            "errors": errors.to_json(), "outputs": writer.paths}


def _bump(d: dict[str, int], key: str, n: int = 1) -> None:
    d[key] = d.get(key, 0) + n


def _output_stem(destination: str, rel: Path) -> str:
    name = rel.name
    for suffix in (".jsonl.zst", ".jsonl.gz", ".json.zst", ".json.gz", ".jsonl", ".json", ".parquet"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    return str(Path(destination, rel.parent, name))


def mix(config: MixConfig, *, executor: str = "local", processes: int | None = None, on_error: str = "raise",
        progress: bool = True, ray_address: str | None = None) -> RunSummary:
    """Run the mixer over ``config.documents``; finished files are skipped on a second run."""
    for name, expr in {**config.include, **config.exclude}.items():
        Expression(expr, name)  # syntax errors before any worker starts
    files = expand_inputs_with_base(config.documents)
    if not files:
        raise FileNotFoundError(f"no document files in {config.documents!r}")
    cfg = {"include": dict(config.include), "exclude": dict(config.exclude),
           "span_replacement": [{"name": r.name, "attribute": r.attribute, "min_score": r.min_score,
                                 "replacement": r.replacement} for r in config.span_replacement],
           "sample": dict(config.sample), "seed": config.seed, "max_size_bytes": config.max_size_bytes,
           "suffix": config.suffix, "drop_empty": config.drop_empty}
    tasks = []
    for path, base in files:
        path, base = path.resolve(), base.resolve()  # Ray workers have their own working directory
        rel = path.relative_to(base)
        attrs = [str(attributes_file(path, s, base=base, attributes_root=config.attributes_root).resolve())
                 for s in config.attributes]
        for a in attrs:
            if not Path(a).is_file():
                raise FileNotFoundError(f"attributes file {a} for {path} is missing (run `dolma-tools tag` first)")
        tasks.append(Task(key=str(path.resolve()), size=path.stat().st_size,
                          payload={"path": str(path), "rel": str(rel), "attributes": attrs, "config": cfg,
                                   "output_stem": _output_stem(str(Path(config.destination).resolve()), rel), "on_error": on_error}))
    digest = xxhash.xxh64_hexdigest(json.dumps([cfg, config.attributes], sort_keys=True).encode())
    return run_tasks(mix_file, tasks, executor=executor, processes=processes,
                     done_dir=Path(config.destination, ".done", f"mix-{digest}"), description="mix",
                     progress=progress, ray_address=ray_address)


def aggregate(summary: RunSummary) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """Per-source totals over all files, and the merged bad-input counts."""
    sources: dict[str, dict[str, Any]] = {}
    errors = ErrorLog()
    for stats in summary.stats.values():
        errors.merge(stats.get("errors", {}))
        for src, st in stats.get("sources", {}).items():
            agg = sources.setdefault(src, _new_source_stats({}, {}))
            for k, v in st.items():
                if isinstance(v, dict):
                    for kk, vv in v.items():
                        _bump(agg[k], kk, vv)
                else:
                    agg[k] += v
    return dict(sorted(sources.items())), errors.to_json()
