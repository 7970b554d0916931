"""Suffix sorting out of core: a first sort by packed token prefixes, batch by batch, then prefix
doubling (Larsson and Sadakane) on the suffixes still tied, group chunk by group chunk.

Suffixes compare token by token; a suffix that ends compares below every longer one (the order of
the big-endian bytes of the ids, which the queries binary-search). Prefix keys are ``id + 1`` with 0
past the end, so suffixes whose keys tie are equal over the whole key and none of them has ended.

Doubling keeps two arrays on disk, memory-mapped: the suffix array and ``rank`` (per position, the
suffix-array row where its group of suffixes equal so far begins). A group equal over its first ``h``
tokens is re-sorted by the rank of the suffix ``h`` tokens later, which orders it over ``2h`` tokens;
so a repeat of length L costs log2(L) passes, each touching only the suffixes still tied. Ranks are
updated in place while a pass runs, which only ever makes a key finer, never wrong (as in Larsson and
Sadakane). Memory: the chunk being sorted (``budget`` suffixes, about 100 bytes each) and the list of
tied groups (16 bytes a group); the arrays themselves are file pages the kernel may evict."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def key_bits(dtype: np.dtype) -> int:
    return np.dtype(dtype).itemsize * 8 + 1


def packed_keys(text: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """The first ``64 // key_bits`` ids (+1, 0 past the end) of each suffix, packed into a uint64."""
    bits = key_bits(text.dtype)
    key = np.zeros(len(pos), dtype=np.uint64)
    for j in range(64 // bits):
        idx = pos + j
        past = idx >= len(text)
        np.minimum(idx, len(text) - 1, out=idx)
        col = text[idx].astype(np.uint64)
        col += np.uint64(1)
        col[past] = 0
        key <<= np.uint64(bits)
        key |= col
    return key


def prefix_width(dtype: np.dtype) -> int:
    return 64 // key_bits(dtype)


def _groups(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of a sorted key array: each element's group start (index of the first equal key), and the
    ``(start, end)`` of every group of two or more."""
    new = np.ones(len(key), dtype=bool)
    new[1:] = key[1:] != key[:-1]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], len(key))
    start_of = np.repeat(starts, ends - starts)
    tied = ends - starts > 1
    return start_of, np.stack([starts[tied], ends[tied]], axis=1)


def first_sort(text: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A batch of suffixes sorted by their packed prefixes: ``(positions, group start of each (batch
    rows), tied groups (batch rows))``."""
    key = packed_keys(text, pos)
    order = np.argsort(key, kind="stable")
    key = key[order]
    start_of, tied = _groups(key)
    return pos[order], start_of, tied


def refine(sa: np.ndarray, rank: np.ndarray, tied: np.ndarray, h: int, budget: int,
           say: Callable[[str], None] | None = None) -> None:
    """Sort the tied groups (``(start, end)`` rows of ``sa``, equal over ``h`` tokens) completely,
    updating ``sa`` and ``rank`` (both memory-mapped, writable) in place."""
    n = len(rank)
    wide = n >= 2**31
    while len(tied):
        sizes = tied[:, 1] - tied[:, 0]
        cum = np.cumsum(sizes)
        nxt: list[np.ndarray] = []
        lo = 0
        while lo < len(tied):
            hi = max(int(np.searchsorted(cum, (cum[lo - 1] if lo else 0) + budget, side="right")), lo + 1)
            g_start, g_size = tied[lo:hi, 0], sizes[lo:hi]
            total = int(g_size.sum())
            first = np.cumsum(g_size) - g_size
            rows = np.arange(total, dtype=np.int64) + np.repeat(g_start - first, g_size)
            gid = np.repeat(np.arange(hi - lo, dtype=np.int64), g_size)
            pos = sa[rows].astype(np.int64)
            after = pos + h
            key = np.full(total, -1, dtype=np.int64)  # a suffix that ends here sorts first
            inside = after < n
            key[inside] = rank[after[inside]]
            if wide:
                order = np.lexsort((key, gid))
            else:
                order = np.argsort((gid.astype(np.uint64) << np.uint64(32)) | (key + 1).astype(np.uint64))
            pos, key, gid = pos[order], key[order], gid[order]
            sa[rows] = pos
            new = np.ones(total, dtype=bool)
            new[1:] = (key[1:] != key[:-1]) | (gid[1:] != gid[:-1])
            starts = np.flatnonzero(new)
            ends = np.append(starts[1:], total)
            rank[pos] = np.repeat(rows[starts], ends - starts)
            still = ends - starts > 1
            nxt.append(np.stack([rows[starts[still]], rows[starts[still]] + (ends - starts)[still]], axis=1))
            lo = hi
        tied = np.concatenate(nxt) if nxt else np.zeros((0, 2), dtype=np.int64)
        h *= 2
        if say:
            say(f"  doubling: {len(tied):,} groups ({int((tied[:, 1] - tied[:, 0]).sum()):,} suffixes) "
                f"still tied over {h} tokens")
