"""Near-duplicate documents with MinHash LSH, clusters resolved out of core.

A document is the set of its word ``shingle_size``-grams (a shingle's hash combines the xxh3 of its
words). Its signature holds, for each of ``bands * rows`` hash functions
``h_j(x) = (a_j x + b_j mod 2^64) >> 32``, the minimum over the document's shingles; two signatures
agree at a position with probability equal to the Jaccard similarity of the sets. Documents sharing
all ``rows`` values of any band become candidates (probability ``1 - (1 - s^rows)^bands`` at
similarity ``s``; the defaults are datatrove's 14 bands of 8 rows, 50% near s = 0.72, 92% at 0.8).

Stages, as datatrove runs them (files between them: ``dedupe.buckets``):

1. signatures: workers (or Ray tasks), one input file each, write sorted bucket runs, signatures and shingle hashes;
2. buckets: per band, the runs are merged a key range at a time into edges (adjacent equal keys);
3. clusters: the edges are read band after band into a union-find over document indices; an edge
   between two documents not yet in one cluster joins them only if its score (``verify``: the exact
   Jaccard by default) reaches ``threshold``;
4. filter: every document but the first of its cluster (input order) gets the attribute
   ``<name>__minhash__duplicate_document``.

Memory: one input file's signatures in each worker, one key range while merging, and a few integers
per document in the parent; nothing keyed by content spans the corpus. Clusters do not depend on the
number of processes (the sets are the connected components of the accepted edges, rooted at their
first document)."""

from __future__ import annotations

import json
import random
import shutil
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xxhash

from dolma_tools.dedupe.buckets import SignatureStore, band_edges, mix64, write_file_outputs
from dolma_tools.dedupe.config import MinHashConfig
from dolma_tools.dedupe.layout import attribute_file, input_files, ordered_map, write_attribute_file
from dolma_tools.dedupe.unionfind import UnionFind
from dolma_tools.dedupe.verify import get_verifier
from dolma_tools.dedupe.workdir import keep, make_work_dir
from dolma_tools.docio import atomic_output, iter_documents
from dolma_tools.npsets import sorted_unique

_EMPTY = np.uint32(0xFFFFFFFF)
_STEP = np.uint64(0x9E3779B97F4A7C15)


def shingles(text: str, size: int) -> list[str]:
    words = text.split()
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i:i + size]) for i in range(len(words) - size + 1)]


def _word_hashes(words: list[str]) -> np.ndarray:
    h64 = xxhash.xxh3_64_intdigest
    try:  # map over built-ins: several times faster than a generator expression
        return np.fromiter(map(h64, map(str.encode, words)), dtype=np.uint64, count=len(words))
    except UnicodeEncodeError:  # a lone surrogate (JSON allows "\ud800")
        return np.fromiter((h64(w.encode("utf-8", "surrogatepass")) for w in words), dtype=np.uint64,
                           count=len(words))


def _all_shingle_hashes(text: str, size: int) -> np.ndarray:
    """64-bit hashes of the word ``size``-grams of ``text`` in text order, repeats included (one
    shingle of all the words when there are no more than ``size``)."""
    words = text.split()
    if not words:
        return np.zeros(0, dtype=np.uint64)
    wh = _word_hashes(words)
    m = max(1, len(words) - size + 1)
    h = np.full(m, np.uint64(size), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for r in range(min(size, len(words))):
            h = (h ^ wh[r:r + m]) * _STEP
    return mix64(h)


def shingle_hashes(text: str, size: int) -> np.ndarray:
    """Distinct 64-bit hashes of the word ``size``-grams of ``text``, sorted."""
    return sorted_unique(_all_shingle_hashes(text, size))


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**64, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64)
    return a, b


def signature_of(hv: np.ndarray, a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """uint32 MinHash signature of shingle hashes ``hv`` (all 0xFFFFFFFF when there are none)."""
    if not len(hv):
        return np.full(len(a), _EMPTY, dtype=np.uint32)
    low = np.full(len(a), np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for s in range(0, len(hv), chunk):
            m = np.multiply.outer(hv[s:s + chunk], a)
            m += b  # in place: one temporary per chunk instead of three (several times faster)
            np.minimum(low, m.min(axis=0), out=low)
    return (low >> np.uint64(32)).astype(np.uint32)  # the shift is monotone: shifting the minimum is enough


def signature(text: str, *, shingle_size: int, a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """uint32 MinHash signature of ``len(a)`` values (all 0xFFFFFFFF for a text without words)."""
    return signature_of(shingle_hashes(text, shingle_size), a, b, chunk)


def jaccard(x: str, y: str, shingle_size: int) -> float:
    sx, sy = set(shingles(x, shingle_size)), set(shingles(y, shingle_size))
    if not sx and not sy:
        return 1.0
    return len(sx & sy) / len(sx | sy)


@dataclass(frozen=True)
class _SigTask:
    path: Path
    index: int
    work: Path
    config: MinHashConfig


def _signature_stage(task: _SigTask) -> int:
    cfg = task.config
    a, b = permutations(cfg.bands * cfg.rows, cfg.seed)
    ids_lengths: list[list] = []
    sigs: list[np.ndarray] = []
    shingle_sets: list[np.ndarray] = []
    for _, doc in iter_documents(task.path):
        hv = _all_shingle_hashes(doc.text, cfg.shingle_size)  # repeats do not change a minimum
        ids_lengths.append([doc.id, len(doc.text)])
        sigs.append(signature_of(hv, a, b))
        shingle_sets.append(sorted_unique((hv >> np.uint64(32)).astype(np.uint32)))
    stacked = np.stack(sigs) if sigs else np.zeros((0, cfg.bands * cfg.rows), dtype=np.uint32)
    write_file_outputs(task.work, task.index, ids_lengths, stacked, shingle_sets, cfg.bands, cfg.rows)
    return len(ids_lengths)


@dataclass(frozen=True)
class _BandTask:
    work: Path
    band: int
    file_offsets: tuple[int, ...]
    merge_records: int


def _bucket_stage(task: _BandTask) -> Path:
    return band_edges(task.work, task.band, list(task.file_offsets), task.merge_records)


class _Reservoir:
    def __init__(self, size: int, seed: int) -> None:
        self.size, self.seen, self.items = size, 0, []
        self.rng = random.Random(seed)

    def add(self, item: tuple[int, int]) -> None:
        self.seen += 1
        if len(self.items) < self.size:
            self.items.append(item)
        elif (k := self.rng.randrange(self.seen)) < self.size:
            self.items[k] = item


def _cluster_stage(edge_files: list[Path], n: int, store: SignatureStore, config: MinHashConfig
                   ) -> tuple[UnionFind, dict[str, Any]]:
    uf = UnionFind(n)
    score = get_verifier(config.verify)
    rejected: set[tuple[int, int]] = set()  # only pairs that failed the check: few, whatever the corpus
    candidates = _Reservoir(config.precision_sample, config.seed)
    edges = checked = joined = 0
    for path in edge_files:
        for i, j in np.load(path).tolist():
            edges += 1
            candidates.add((i, j))
            if uf.find(i) == uf.find(j) or (i, j) in rejected:
                continue
            checked += 1
            if score(store, i, j) >= config.threshold:
                joined += uf.union(i, j)
            else:
                rejected.add((i, j))
    exact = [store.jaccard(i, j) >= config.threshold for i, j in candidates.items]
    return uf, {"candidate_edges": edges, "candidate_pairs_checked": checked, "rejected_pairs": len(rejected),
                "accepted_pairs": joined,
                "precision_candidates": round(float(np.mean(exact)), 4) if exact else None}


def _file_indices(file_offsets: list[int], total: int) -> Iterator[tuple[int, range]]:
    bounds = [*file_offsets, total]
    for f in range(len(file_offsets)):
        yield f, range(bounds[f], bounds[f + 1])


def minhash_dedupe(inputs: str | Path | Iterable[str | Path], config: MinHashConfig | None = None, *,
                   destination: str | Path | None = None, clusters_file: str | Path | None = None,
                   truth: str | Path | None = None, progress: bool = False,
                   executor: str = "local", ray_address: str | None = None) -> dict[str, Any]:
    """Cluster near-duplicate documents, write ``<name>__minhash__duplicate_document`` attributes
    (a whole-document span on every document but the first of its cluster) and return a summary.

    ``clusters_file``: also write ``{"id", "kept"}`` for every duplicate (JSON lines, ``.gz`` allowed).
    ``truth``: a key file from ``dolma-tools synth-corpus``; the summary then has ``quality``
    (precision and recall per Jaccard band, :func:`dolma_tools.dedupe.minhash_eval.evaluate`).
    ``executor="ray"``: the signature stage (a task per file) and the bucket stage (a task per band)
    run as Ray tasks, which must reach the work folder (``work_dir`` on a shared filesystem on a
    cluster); clusters and attributes are resolved here, as with the local pool, so the files match."""
    config = config or MinHashConfig()
    get_verifier(config.verify)  # an unknown name fails before any work
    t0 = time.perf_counter()
    with_base = input_files(inputs)
    work = make_work_dir(config.work_dir)
    timings: dict[str, float] = {}
    store: SignatureStore | None = None
    try:
        tick = time.perf_counter()
        tasks = [_SigTask(p, f, work, config) for f, (p, _) in enumerate(with_base)]
        counts = list(_progress(ordered_map(_signature_stage, tasks, config.processes, executor, ray_address), len(tasks),
                                "minhash signatures", progress))
        offsets = [int(x) for x in np.cumsum([0, *counts])[:-1]]
        n = int(sum(counts))
        timings["signatures"] = time.perf_counter() - tick
        tick = time.perf_counter()
        band_tasks = [_BandTask(work, b, tuple(offsets), config.merge_records) for b in range(config.bands)]
        edge_files = list(ordered_map(_bucket_stage, band_tasks, config.processes, executor, ray_address))
        timings["buckets"] = time.perf_counter() - tick
        tick = time.perf_counter()
        store = SignatureStore(work, offsets, signature_size=config.bands * config.rows)
        uf, cstats = _cluster_stage(edge_files, n, store, config)
        roots = uf.roots()
        timings["clusters"] = time.perf_counter() - tick
        tick = time.perf_counter()
        key = f"{config.name}__minhash__duplicate_document"
        removed = 0
        for (path, base), (f, idx) in zip(with_base, _file_indices(offsets, n), strict=True):
            ids_lengths = store.ids(f)
            spans = [[[0, length, 1.0]] if roots[i] != i else [] for i, (_, length) in zip(idx, ids_lengths, strict=True)]
            removed += sum(1 for s in spans if s)
            write_attribute_file(attribute_file(path, config.name, base=base, destination=destination),
                                 [doc_id for doc_id, _ in ids_lengths], key, spans)
        dups = [i for i in range(n) if roots[i] != i]
        member_ok = sum(store.jaccard(i, roots[i]) >= config.threshold for i in dups)
        if clusters_file is not None:
            _write_clusters(Path(clusters_file), store, offsets, n, roots)
        sizes = np.bincount(np.asarray(roots, dtype=np.int64), minlength=n) if n else np.zeros(0, dtype=np.int64)
        timings["filter"] = time.perf_counter() - tick
        summary: dict[str, Any] = {
            "documents": n, "clusters": int((sizes > 0).sum()), "duplicate_documents": removed,
            "largest_cluster": int(sizes.max()) if n else 0, "candidate_pairs": cstats["candidate_edges"],
            **cstats, "attribute": key, "bands": config.bands, "rows": config.rows,
            "shingle_size": config.shingle_size, "threshold": config.threshold, "verify": config.verify,
            "candidate_threshold": round((1 / config.bands) ** (1 / config.rows), 4),
            # each duplicate against the document kept for it: exact Jaccard of the shingle hashes
            "precision_accepted": round(member_ok / len(dups), 4) if dups else None,
            "stage_seconds": {k: round(v, 3) for k, v in timings.items()}}
        if truth is not None:
            from dolma_tools.dedupe.minhash_eval import evaluate

            summary["quality"] = evaluate(truth, store, offsets, roots, threshold=config.threshold)
    finally:
        if store is not None:
            store.close()
        if config.keep_work:
            keep(work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    summary["work_dir"] = str(work) if config.keep_work else None
    summary["seconds"] = round(time.perf_counter() - t0, 3)
    return summary


def _write_clusters(path: Path, store: SignatureStore, offsets: list[int], n: int, roots: list[int]) -> None:
    wanted = {r for i, r in enumerate(roots) if r != i}
    ids: dict[int, str] = {}
    for f, idx in _file_indices(offsets, n):
        if any(i in wanted for i in idx):
            ids.update((i, doc_id) for i, (doc_id, _) in zip(idx, store.ids(f), strict=True) if i in wanted)
    with atomic_output(path, "w") as out:
        for f, idx in _file_indices(offsets, n):
            for i, (doc_id, _) in zip(idx, store.ids(f), strict=True):
                if roots[i] != i:
                    out.write(json.dumps({"id": doc_id, "kept": ids[roots[i]]}, ensure_ascii=False) + "\n")


def _progress(it: Iterator[int], total: int, desc: str, enabled: bool) -> Iterator[int]:
    if not enabled:
        yield from it
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit="file") as bar:
        for x in it:
            bar.update(1)
            yield x
