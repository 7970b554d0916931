"""``synth_corpus``: the streaming writer of the scale corpus and its key file.

Output documents are written one at a time into gzip shards of ``docs_per_shard`` documents; the
only documents held in memory are the planted copies waiting for their turn (at most ``max_delay``
base documents ahead), so memory does not grow with the scale. One seeded generator drives every
choice, in a fixed order, and gzip headers carry no time: the same inputs and seed give
byte-identical output."""

from __future__ import annotations

import heapq
import itertools
import json
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import IO, Any

import numpy as np

from dolma_tools.atomic import write_json_atomic
from dolma_tools.docio import atomic_output, iter_json_lines
from dolma_tools.faults import fault_point
from dolma_tools.hashing import sha256_hex
from dolma_tools.synth.config import SynthConfig
from dolma_tools.synth.edits import NearDuplicateMaker, shingle_set
from dolma_tools.synth.pool import ParagraphPool, Template

ADDED = "2026-01-01T00:00:00Z"
TRUTH_NAME = "truth.jsonl.gz"
MANIFEST_NAME = "synth.json"


class _Shards:
    """Documents into ``documents/part-NNNNN.jsonl.gz``, each shard renamed into place when full."""

    def __init__(self, folder: Path, per_shard: int, compresslevel: int) -> None:
        self.folder, self.per_shard, self.level = folder, per_shard, compresslevel
        self.shards = 0
        self.in_shard = 0
        self._stack: ExitStack | None = None
        self._f: IO[str] | None = None

    def write(self, doc: dict[str, Any]) -> None:
        if self._f is None:
            self._stack = ExitStack()
            self._f = self._stack.enter_context(atomic_output(
                self.folder / f"part-{self.shards:05d}.jsonl.gz", "w", compresslevel=self.level))
        self._f.write(json.dumps(doc, ensure_ascii=False) + "\n")
        self.in_shard += 1
        if self.in_shard == self.per_shard:
            self.close()

    def close(self) -> None:
        if self._stack is not None:
            self._stack.close()
            fault_point("synth.after_shard")
            self.shards += 1
        self._stack, self._f, self.in_shard = None, None, 0

    def abort(self) -> None:
        if self._stack is not None:
            self._stack.__exit__(RuntimeError, RuntimeError("aborted"), None)  # removes the temporary
        self._stack, self._f = None, None


def _band_of(j: float, bands: list[tuple[float, float]]) -> str:
    if j >= 1.0:
        return "1.0"
    for lo, hi in bands:
        if lo <= j < hi:
            return f"{lo:.1f}-{hi:.1f}"
    return f"<{bands[0][0]:.1f}"


def synth_corpus(documents: str | Path | Iterable[str | Path], destination: str | Path,
                 config: SynthConfig | None = None, *, progress: bool = False) -> dict[str, Any]:
    """Write ``destination/documents/part-*.jsonl.gz`` (Dolma documents), ``destination/truth.jsonl.gz``
    (one line per planted pair: ``a``, ``b`` ids, ``jaccard`` measured on the written texts, ``kind``
    exact/near, ``pair`` original/siblings, ``target`` band) and ``destination/synth.json`` (the summary,
    also returned)."""
    cfg = config or SynthConfig()
    t0 = time.perf_counter()
    dest = Path(destination)
    pool = ParagraphPool(documents, seed=cfg.seed, max_unit_chars=cfg.max_unit_chars)
    rng = np.random.default_rng(cfg.seed)
    total = max(1, round(cfg.scale * pool.input_documents))
    weights = np.asarray(cfg.copies_weights, dtype=float) / sum(cfg.copies_weights)
    mean_copies = float(np.dot(np.arange(1, len(weights) + 1), weights))
    rate = cfg.near_dup_rate + cfg.exact_dup_rate
    p_original = rate / ((1 - rate) * mean_copies)  # planted / total = rate
    p_exact = cfg.exact_dup_rate / rate if rate else 0.0
    bands = cfg.bands
    stats: Counter[str] = Counter(dict.fromkeys(("exact_copies", "near_copies", "near_copies_missed", "truth_pairs"), 0))
    true_bands: Counter[str] = Counter()
    target_bands: Counter[str] = Counter()
    pending: list[tuple[int, int, dict[str, Any]]] = []
    shards = _Shards(dest / "documents", cfg.docs_per_shard, cfg.compresslevel)
    bar = _bar(total, progress)
    emitted = chars = owed = 0
    order = itertools.count()  # ties in emission time keep creation order

    def emit(doc: dict[str, Any]) -> None:
        nonlocal emitted, chars
        shards.write(doc)
        emitted += 1
        chars += len(doc["text"])
        if bar is not None:
            bar.update(1)

    try:
        with atomic_output(dest / TRUTH_NAME, "w", compresslevel=cfg.compresslevel) as truth:
            k = 0
            while emitted + len(pending) < total:
                tpl = pool.templates[int(rng.integers(len(pool.templates)))]
                doc = _document(_doc_id(cfg.seed, k, 0), _recombine(pool, tpl, rng), pool, tpl)
                owed += int(rng.random() < p_original)
                if owed and len(doc["text"].split()) >= cfg.min_words:
                    owed -= 1
                    copies = 1 + int(rng.choice(len(weights), p=weights))
                    group = [(doc, None)]
                    for j in range(1, copies + 1):
                        copy, target = _plant(doc, j, k, cfg, pool, rng, p_exact, bands, stats)
                        if copy is not None:
                            group.append((copy, target))
                            heapq.heappush(pending, (k + int(rng.integers(1, cfg.max_delay + 1)),
                                                     next(order), copy))
                    for line in _truth_lines(group, cfg.shingle_size):
                        truth.write(json.dumps(line) + "\n")
                        stats["truth_pairs"] += 1
                        true_bands[_band_of(line["jaccard"], bands)] += 1
                        if line["target"] is not None:
                            target_bands[f"{line['target'][0]:.1f}-{line['target'][1]:.1f}"] += 1
                emit(doc)
                stats["base_documents"] += 1
                while pending and pending[0][0] <= k:
                    emit(heapq.heappop(pending)[2])
                k += 1
            while pending:
                emit(heapq.heappop(pending)[2])
            shards.close()
    except BaseException:
        shards.abort()
        raise
    finally:
        if bar is not None:
            bar.close()
    for stale in sorted((dest / "documents").glob("part-*.jsonl.gz")):
        if int(stale.name[5:10]) >= shards.shards:  # a larger earlier run's tail
            stale.unlink()
    summary = {"config": asdict(cfg), "input_documents": pool.input_documents, "input_chars": pool.input_chars,
               "documents": emitted, "chars": chars, "shards": shards.shards, **dict(sorted(stats.items())),
               "truth_pairs_by_true_jaccard": dict(sorted(true_bands.items())),
               "near_copies_by_target": dict(sorted(target_bands.items())),
               "truth": TRUTH_NAME, "seconds": round(time.perf_counter() - t0, 2)}
    write_json_atomic(dest / MANIFEST_NAME, {k: v for k, v in summary.items() if k != "seconds"},
                      indent=2, sort_keys=True)
    return summary


def _doc_id(seed: int, k: int, j: int) -> str:
    # opaque ids: nothing in an id tells a copy from its original
    return sha256_hex(f"synth/{seed}/{k}/{j}")[:20]


def _recombine(pool: ParagraphPool, tpl: Template, rng: np.random.Generator) -> str:
    picks = rng.integers(0, pool.count(tpl.source), size=tpl.paragraphs)
    return "\n\n".join(pool.paragraph(tpl.source, int(i)) for i in picks)


def _document(doc_id: str, text: str, pool: ParagraphPool, tpl: Template) -> dict[str, Any]:
    return {"id": doc_id, "text": text, "source": pool.sources[tpl.source], "added": ADDED,
            "created": tpl.created, "metadata": {"origin": "dolma-tools synth-corpus"}}


def _plant(doc: dict[str, Any], j: int, k: int, cfg: SynthConfig, pool: ParagraphPool, rng: np.random.Generator,
           p_exact: float, bands: list[tuple[float, float]], stats: Counter[str]
           ) -> tuple[dict[str, Any] | None, tuple[float, float] | None]:
    copy = dict(doc, id=_doc_id(cfg.seed, k, j))
    if rng.random() < p_exact:
        stats["exact_copies"] += 1
        return copy, None
    lo, hi = bands[int(rng.integers(len(bands)))]
    maker = NearDuplicateMaker(doc["text"], pool.vocabulary, np.random.default_rng([cfg.seed, k, j]),
                               cfg.shingle_size)
    edits = maker.edits_for(lo, hi)
    if edits is None:
        stats["near_copies_missed"] += 1
        return None, None
    stats["near_copies"] += 1
    copy["text"] = maker.text(edits)
    return copy, (lo, hi)


def _truth_lines(group: list[tuple[dict[str, Any], tuple[float, float] | None]], size: int) -> Iterator[dict[str, Any]]:
    sets = [shingle_set(d["text"].split(), size) for d, _ in group]
    for a in range(len(group)):
        for b in range(a + 1, len(group)):
            union = len(sets[a] | sets[b])
            j = len(sets[a] & sets[b]) / union if union else 1.0
            same = group[a][0]["text"] == group[b][0]["text"]
            yield {"a": group[a][0]["id"], "b": group[b][0]["id"], "jaccard": round(j, 6),
                   "kind": "exact" if same else "near", "pair": "original" if a == 0 else "siblings",
                   "target": list(group[b][1]) if a == 0 and group[b][1] is not None else None}


def read_truth(path: str | Path) -> Iterator[dict[str, Any]]:
    """The key file's lines (``destination/truth.jsonl.gz`` or the folder holding it)."""
    p = Path(path)
    for _, obj in iter_json_lines(p / TRUTH_NAME if p.is_dir() else p):
        yield obj


def _bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="synth-corpus", unit="doc")
