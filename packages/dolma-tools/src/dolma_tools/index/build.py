"""Building a suffix-array index over token shards, out of core and within a memory budget.

1. The stream is copied once into ``tokens.be`` (big-endian ids, so byte order is token order and
   queries compare byte strings), and the first-token histogram is taken on the way.
2. Suffixes are split into batches by their first token (first two for a token so frequent that its
   suffixes alone would exceed the budget), batches being consecutive ranges of that key. Each batch
   is sorted by its first few tokens (``sort.first_sort``) and written at its place in the suffix
   array; then prefix doubling (``sort.refine``) sorts the groups still tied, a chunk of groups at a
   time. The suffix array (``sa.bin``: uint32 positions while they fit, else uint64; little-endian)
   and the rank array (a temporary file) are memory-mapped files, not memory.
3. ``first.npy`` (where each first token's suffixes begin), ``documents.npy``/``documents.jsonl``
   (global document starts; id, source, raw file, line, shard, offset) and ``index.json`` last: an
   index is complete exactly when ``index.json`` exists.

Memory: a batch or chunk holds at most ``budget // BYTES_PER_SUFFIX`` suffixes (a single two-token
prefix, or a group of equal suffixes, larger than that is the one case that exceeds it, and is
reported), plus 16 bytes per tied group; the stream, suffix and rank arrays are mapped file pages
(resident while used, evictable), which the reported peak RSS includes."""

from __future__ import annotations

import json
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dolma_tools.atomic import (
    atomic_path,
    sweep_temporaries,
    temporary_name,
    write_json_atomic,
    write_text_atomic,
)
from dolma_tools.faults import fault_point
from dolma_tools.index.corpus import TokenCorpus
from dolma_tools.index.sort import first_sort, prefix_width, refine

INDEX_FORMAT = "olmo-stack/token-index"
INDEX_VERSION = 1
BYTES_PER_SUFFIX = 128  # measured: sort arrays, scan results and doubling chunks together
CHUNK = 1 << 22  # tokens per streaming pass


@dataclass
class IndexConfig:
    """How to build: the memory budget for one batch of suffixes, and the dtype of Dolma shards that
    record none."""

    memory_mb: float = 1024
    dtype: str | None = None

    def batch_suffixes(self) -> int:
        return max(1, int(self.memory_mb * 2**20) // BYTES_PER_SUFFIX)


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _copy_stream(corpus: TokenCorpus, path: Path) -> np.ndarray:
    """Write ``tokens.be``; return the first-token histogram."""
    width = np.dtype(corpus.dtype)
    vocab = 1 << 16 if width.itemsize == 2 else 0
    hist = np.zeros(vocab, dtype=np.int64)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        for _start, ids in corpus.chunks(CHUNK):
            ids = ids.astype(width.newbyteorder(">"))
            f.write(ids.tobytes())
            fault_point("index.copy")  # chaos tests: a kill with tokens.be half written
            top = int(ids.max(initial=0)) + 1
            if top > len(hist):
                hist = np.concatenate([hist, np.zeros(top - len(hist), dtype=np.int64)])
            hist += np.bincount(ids.astype(np.int64), minlength=len(hist))
    return hist


class _Units:
    """Consecutive sort keys: one per first token, or one per (token, next id + 1) for heavy tokens."""

    def __init__(self, text: np.ndarray, first: np.ndarray, budget: int) -> None:
        self.heavy = first > budget
        vocab = len(first)
        self.heavy_ix = np.cumsum(self.heavy) - 1
        heavy_tokens = np.flatnonzero(self.heavy)
        pair = np.zeros((len(heavy_tokens), vocab + 1), dtype=np.int64)
        if len(heavy_tokens):
            for _start, t0, t1 in _pairs(text):
                m = self.heavy[t0]
                pair += np.bincount(self.heavy_ix[t0[m]] * (vocab + 1) + t1[m], minlength=pair.size).reshape(pair.shape)
        sizes = np.where(self.heavy, vocab + 1, 1)
        self.base = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        counts = np.zeros(int(sizes.sum()), dtype=np.int64)
        counts[self.base[~self.heavy]] = first[~self.heavy]
        for h, t in enumerate(heavy_tokens.tolist()):
            counts[self.base[t]:self.base[t] + vocab + 1] = pair[h]
        self.counts = counts
        self.vocab = vocab

    def of(self, t0: np.ndarray, t1: np.ndarray) -> np.ndarray:
        return self.base[t0] + np.where(self.heavy[t0], t1, 0)

    def batches(self, budget: int) -> list[tuple[int, int]]:
        cum = np.cumsum(self.counts)
        out, lo, done = [], 0, 0
        while lo < len(self.counts):
            hi = int(np.searchsorted(cum, done + budget, side="right"))
            hi = max(hi, lo + 1)
            out.append((lo, hi))
            done, lo = int(cum[hi - 1]), hi
        return [b for b in out if self.counts[b[0]:b[1]].sum()]


def _pairs(text: np.ndarray):  # type: ignore[no-untyped-def]
    """``(start, first ids, next ids + 1 (0 at the end))`` over the stream, in chunks."""
    n = len(text)
    for s in range(0, n, CHUNK):
        e = min(s + CHUNK, n)
        t0 = np.asarray(text[s:e]).astype(np.int64)
        t1 = np.zeros(e - s, dtype=np.int64)
        t1[:-1] = t0[1:] + 1
        if e < n:
            t1[-1] = int(text[e]) + 1
        yield s, t0, t1


def build_index(paths: list[str | Path], destination: str | Path, config: IndexConfig | None = None, *,
                progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Index the token shards under ``paths`` into ``destination``; return the summary (also in
    ``index.json``)."""
    config = config or IndexConfig()
    say = progress or (lambda _m: None)
    dest = Path(destination)
    dest.mkdir(parents=True, exist_ok=True)
    (dest / "index.json").unlink(missing_ok=True)  # unfinished until it is written again
    sweep_temporaries(dest)  # what a killed build was writing (tokens.be, sa.bin, rank.bin, ...)
    t0 = time.perf_counter()
    corpus = TokenCorpus.open(list(paths), config.dtype)
    n = corpus.num_tokens
    if n == 0:
        raise ValueError(f"{[str(p) for p in paths]}: the token shards hold no tokens")
    first = _copy_stream(corpus, dest / "tokens.be")
    text = np.memmap(dest / "tokens.be", dtype=np.dtype(corpus.dtype).newbyteorder(">"), mode="r")
    budget = config.batch_suffixes()
    units = _Units(text, first, budget)
    batches = units.batches(budget)
    sa_dtype = np.dtype("<u4") if n < 2**32 else np.dtype("<u8")
    largest, row, tied_parts = 0, 0, []
    rank_path = temporary_name(dest / "rank.bin")
    try:
        with atomic_path(dest / "sa.bin") as tmp:
            for path in (tmp, rank_path):
                with open(path, "wb") as f:
                    f.truncate(n * sa_dtype.itemsize)
            sa = np.memmap(tmp, dtype=sa_dtype, mode="r+")
            rank = np.memmap(rank_path, dtype=sa_dtype, mode="r+")
            for k, (ulo, uhi) in enumerate(batches):
                parts = []
                for start, first_ids, next_ids in _pairs(text):
                    u = units.of(first_ids, next_ids)
                    parts.append(start + np.flatnonzero((u >= ulo) & (u < uhi)))
                pos = np.concatenate(parts)
                del parts
                largest = max(largest, len(pos))
                pos, start_of, tied = first_sort(text, pos)
                sa[row:row + len(pos)] = pos
                rank[pos] = row + start_of
                tied_parts.append(tied + row)
                row += len(pos)
                say(f"batch {k + 1}/{len(batches)}: {len(pos):,} suffixes sorted by their first "
                    f"{prefix_width(text.dtype)} tokens ({time.perf_counter() - t0:.1f}s)")
                del pos, start_of
            if row != n:
                raise RuntimeError(f"suffix array has {row} entries for {n} tokens")
            tied = np.concatenate(tied_parts)
            del tied_parts
            say(f"doubling: {len(tied):,} groups ({int((tied[:, 1] - tied[:, 0]).sum()):,} suffixes) tied")
            refine(sa, rank, tied, prefix_width(text.dtype), budget, say)
            sa.flush()
            fault_point("index.sorted")
            del sa, rank
    finally:
        rank_path.unlink(missing_ok=True)
    say(f"sorted {n:,} suffixes in {time.perf_counter() - t0:.1f}s, peak RSS {_peak_rss_mb():,.0f} MiB")
    with atomic_path(dest / "first.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, np.concatenate([[0], np.cumsum(first)]).astype(np.int64))
    starts, docs = corpus.document_table()
    with atomic_path(dest / "documents.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, starts)
    write_text_atomic(dest / "documents.jsonl", "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
    summary = {
        "format": INDEX_FORMAT, "version": INDEX_VERSION, "num_tokens": n, "num_documents": len(docs),
        "dtype": corpus.dtype, "sa_dtype": sa_dtype.name, "eos_id": corpus.eos_id,
        "tokenizer": next((s.tokenizer for s in corpus.shards if s.tokenizer), None),
        "shards": [{"path": str(s.path.resolve()), "num_tokens": s.num_tokens,
                    "size": s.path.stat().st_size, "mtime_ns": s.path.stat().st_mtime_ns} for s in corpus.shards],
        "batches": len(batches), "two_token_keys": int(units.heavy.sum()), "largest_batch": largest, "memory_mb": config.memory_mb,
        "over_budget": largest > budget, "seconds": round(time.perf_counter() - t0, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
    }
    write_json_atomic(dest / "index.json", summary, indent=2)
    return summary
