"""Near-duplicate documents with MinHash LSH.

A document is the set of its word ``shingle_size``-grams. Its signature holds, for each of
``bands * rows`` hash functions ``h_j(x) = (a_j x + b_j mod 2^64) >> 32`` over the 64-bit xxh3 of each
shingle, the minimum over the document; two signatures agree at a position with probability equal to
the Jaccard similarity of the sets. LSH cuts the signature into ``bands`` bands of ``rows`` values:
documents sharing any band become candidates (probability ``1 - (1 - s^rows)^bands`` at similarity
``s``). Candidates whose signatures agree on at least ``threshold`` of the positions are joined
(union-find) into clusters, and the first document of each cluster in input order is kept.

Workers compute signatures per file; the parent runs LSH over all of them in input order, so the
clusters do not depend on the number of processes. The summary reports precision against the exact
Jaccard similarity of sampled candidate pairs."""

from __future__ import annotations

import random
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dolma_tools.dedupe.bloom import hash_items
from dolma_tools.dedupe.config import MinHashConfig
from dolma_tools.dedupe.layout import attribute_file, input_files, ordered_map, write_attribute_file
from dolma_tools.docio import iter_documents

_EMPTY = np.uint32(0xFFFFFFFF)


def shingles(text: str, size: int) -> list[str]:
    words = text.split()
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i:i + size]) for i in range(len(words) - size + 1)]


def permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(1, 2**64, size=num_perm, dtype=np.uint64) | np.uint64(1)
    b = rng.integers(0, 2**64, size=num_perm, dtype=np.uint64)
    return a, b


def signature(text: str, *, shingle_size: int, a: np.ndarray, b: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """uint32 MinHash signature of ``len(a)`` values (all 0xFFFFFFFF for a text without words)."""
    sig = np.full(len(a), _EMPTY, dtype=np.uint32)
    sh = shingles(text, shingle_size)
    if not sh:
        return sig
    hv = np.unique(hash_items(sh)[:, 0])
    with np.errstate(over="ignore"):
        for s in range(0, len(hv), chunk):
            mixed = (hv[s:s + chunk, None] * a[None, :] + b[None, :]) >> np.uint64(32)
            np.minimum(sig, mixed.min(axis=0).astype(np.uint32), out=sig)
    return sig


def jaccard(x: str, y: str, shingle_size: int) -> float:
    sx, sy = set(shingles(x, shingle_size)), set(shingles(y, shingle_size))
    if not sx and not sy:
        return 1.0
    return len(sx & sy) / len(sx | sy)


@dataclass(frozen=True)
class _Task:
    path: Path
    config: MinHashConfig


def _file_signatures(task: _Task) -> tuple[list[str], list[int], np.ndarray]:
    cfg = task.config
    a, b = permutations(cfg.bands * cfg.rows, cfg.seed)
    ids, lengths, sigs = [], [], []
    for _, doc in iter_documents(task.path):
        ids.append(doc.id)
        lengths.append(len(doc.text))
        sigs.append(signature(doc.text, shingle_size=cfg.shingle_size, a=a, b=b))
    return ids, lengths, np.stack(sigs) if sigs else np.zeros((0, len(a)), dtype=np.uint32)


class _UnionFind:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, x: int, y: int) -> None:
        rx, ry = self.find(x), self.find(y)
        if rx != ry:  # the smaller index (earlier document) stays the root, so it is the one kept
            self.parent[max(rx, ry)] = min(rx, ry)


def lsh_clusters(sigs: np.ndarray, bands: int, rows: int, threshold: float
                 ) -> tuple[list[int], list[tuple[int, int]], list[tuple[int, int]]]:
    """Root (kept document) of each document, the LSH candidate pairs and the accepted pairs."""
    n = len(sigs)
    uf = _UnionFind(n)
    candidates: set[tuple[int, int]] = set()
    empty = (sigs == _EMPTY).all(axis=1) if n else np.zeros(0, dtype=bool)
    for band in range(bands):
        buckets: dict[bytes, int] = {}
        block = np.ascontiguousarray(sigs[:, band * rows:(band + 1) * rows])
        for i in range(n):
            if empty[i]:
                continue
            key = block[i].tobytes()
            first = buckets.setdefault(key, i)
            if first != i:
                candidates.add((first, i))
    accepted = [(i, j) for i, j in sorted(candidates) if float(np.mean(sigs[i] == sigs[j])) >= threshold]
    for i, j in accepted:
        uf.union(i, j)
    return [uf.find(i) for i in range(n)], sorted(candidates), accepted


def _texts_for(files: list[Path], offsets: list[int], counts: list[int], wanted: set[int]) -> dict[int, str]:
    """Re-read only the files holding the wanted documents (global indices)."""
    out: dict[int, str] = {}
    for f, base, count in zip(files, offsets, counts, strict=True):
        if not any(base <= w < base + count for w in wanted):
            continue
        for k, (_, doc) in enumerate(iter_documents(f), start=base):
            if k in wanted:
                out[k] = doc.text
    return out


def minhash_dedupe(inputs: str | Path | Iterable[str | Path], config: MinHashConfig | None = None, *,
                   destination: str | Path | None = None) -> dict[str, Any]:
    """Cluster near-duplicate documents, write ``<name>__minhash__duplicate_document`` attributes
    (a whole-document span on every document but the first of its cluster) and return a summary."""
    config = config or MinHashConfig()
    t0 = time.perf_counter()
    with_base = input_files(inputs)
    files = [p for p, _ in with_base]
    per_file = list(ordered_map(_file_signatures, [_Task(p, config) for p in files], config.processes))
    offsets = list(np.cumsum([0] + [len(ids) for ids, _, _ in per_file])[:-1].tolist())
    sigs = np.concatenate([s for _, _, s in per_file]) if per_file else np.zeros((0, 1), dtype=np.uint32)
    roots, candidates, accepted = lsh_clusters(sigs, config.bands, config.rows, config.threshold)
    key = f"{config.name}__minhash__duplicate_document"
    removed = 0
    for (path, base), start, (ids, lengths, _) in zip(with_base, offsets, per_file, strict=True):
        spans = [[[0, lengths[k], 1.0]] if roots[start + k] != start + k else [] for k in range(len(ids))]
        removed += sum(1 for s in spans if s)
        write_attribute_file(attribute_file(path, config.name, base=base, destination=destination), ids, key, spans)
    sizes: dict[int, int] = {}
    for r in roots:
        sizes[r] = sizes.get(r, 0) + 1
    precision = _precision(files, offsets, [len(ids) for ids, _, _ in per_file], candidates, accepted, config)
    return {"documents": len(roots), "clusters": len(sizes), "duplicate_documents": removed,
            "largest_cluster": max(sizes.values(), default=0), "candidate_pairs": len(candidates),
            "accepted_pairs": len(accepted), "attribute": key, "bands": config.bands, "rows": config.rows,
            "shingle_size": config.shingle_size, "threshold": config.threshold,
            "candidate_threshold": round((1 / config.bands) ** (1 / config.rows), 4), **precision,
            "seconds": round(time.perf_counter() - t0, 3)}


def _precision(files: list[Path], offsets: list[int], counts: list[int], candidates: list[tuple[int, int]],
               accepted: list[tuple[int, int]], config: MinHashConfig) -> dict[str, Any]:
    rng = random.Random(config.seed)
    cand = rng.sample(candidates, min(config.precision_sample, len(candidates)))
    acc = rng.sample(accepted, min(config.precision_sample, len(accepted)))
    texts = _texts_for(files, offsets, counts, {i for pair in cand + acc for i in pair})

    def frac(pairs: list[tuple[int, int]]) -> float | None:
        if not pairs:
            return None
        good = sum(jaccard(texts[i], texts[j], config.shingle_size) >= config.threshold for i, j in pairs)
        return round(good / len(pairs), 4)

    return {"precision_candidates": frac(cand), "precision_accepted": frac(acc),
            "precision_sampled_pairs": {"candidates": len(cand), "accepted": len(acc)}}
