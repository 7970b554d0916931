"""Sorting one batch of suffixes of a token stream, by multikey refinement.

Suffixes compare token by token; a suffix that ends compares below every longer one (the order of the
big-endian bytes of the ids, which the queries binary-search). Keys are ``id + 1`` with 0 past the
end, so two different suffixes never have equal keys once either has ended.

Round 1 sorts the whole batch by a ``uint64`` key packing its first tokens (3 ids of 17 bits for
uint16 streams, 1 for uint32). Each later round re-sorts only the suffixes still tied, within their
groups, by the tokens that follow. While very many suffixes are tied the key stays one ``uint64``;
once rows of twice that width fit the row budget, the window doubles each round (as far as the budget
allows) and rows of ids are compared as byte strings, so a long repeat (a duplicated document) costs
O(log L) rounds, not L/3.

Memory: about 64 bytes per suffix of the batch (positions, keys, sort permutations, one gathered
column), plus about 16 bytes per id gathered for rows (``max_row_tokens`` of them at most)."""

from __future__ import annotations

import numpy as np

#: the default for the most ids gathered at once for row comparisons
MAX_ROW_TOKENS = 1 << 22


def key_bits(dtype: np.dtype) -> int:
    return np.dtype(dtype).itemsize * 8 + 1


def _column(text: np.ndarray, pos: np.ndarray, off: int) -> np.ndarray:
    """``text[pos + off] + 1``, 0 past the end, as uint64."""
    idx = pos + off
    past = idx >= len(text)
    np.minimum(idx, len(text) - 1, out=idx)
    col = text[idx].astype(np.uint64)
    col += 1
    col[past] = 0
    return col


def packed_keys(text: np.ndarray, pos: np.ndarray, off: int, width: int) -> np.ndarray:
    bits = np.uint64(key_bits(text.dtype))
    key = np.zeros(len(pos), dtype=np.uint64)
    for j in range(width):
        key <<= bits
        key |= _column(text, pos, off + j)
    return key


def row_keys(text: np.ndarray, pos: np.ndarray, off: int, width: int) -> np.ndarray:
    """Each suffix's ids ``[off, off + width)`` (+1, 0 past the end) as one byte string."""
    idx = pos[:, None] + (off + np.arange(width, dtype=np.int64))[None, :]
    past = idx >= len(text)
    np.minimum(idx, len(text) - 1, out=idx)
    rows = text[idx].astype(">u4")
    rows += 1
    rows[past] = 0
    return np.ascontiguousarray(rows).view(f"S{4 * width}").ravel()


def _ties(gid: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Of a sequence sorted by (group, key): which elements still tie with a neighbour, and a group
    number for each of them (equal numbers: equal so far)."""
    eq = (gid[1:] == gid[:-1]) & (key[1:] == key[:-1])
    tied = np.zeros(len(key), dtype=bool)
    tied[1:] |= eq
    tied[:-1] |= eq
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = ~eq
    new_gid = np.cumsum(starts) - 1
    return np.flatnonzero(tied), new_gid[tied]


def sort_suffixes(text: np.ndarray, positions: np.ndarray, max_row_tokens: int = MAX_ROW_TOKENS) -> np.ndarray:
    """``positions`` (int64) ordered by their suffixes of ``text``; ``max_row_tokens``: the most ids
    gathered at once for row comparisons (about 16 bytes each while gathering)."""
    pos = np.asarray(positions, dtype=np.int64)
    if len(pos) <= 1:
        return pos.copy()
    per_key = 64 // key_bits(text.dtype)
    key = packed_keys(text, pos, 0, per_key)
    order = np.argsort(key, kind="stable")
    pos = pos[order]
    key = key[order]
    del order
    sel, gid = _ties(np.zeros(len(pos), dtype=np.int64), key)
    del key
    off, width = per_key, per_key
    while len(sel):
        sub = pos[sel]
        if len(sel) * 2 * per_key > max_row_tokens:
            width = per_key
            k = packed_keys(text, sub, off, width)
        else:
            width = max(per_key, min(2 * width, max_row_tokens // len(sel)))
            k = row_keys(text, sub, off, width)
        # gid is non-decreasing, so a stable sort by key then by group keeps each group in its slots
        o = np.argsort(k, kind="stable")
        o = o[np.argsort(gid[o], kind="stable")]
        pos[sel] = sub[o]
        k = k[o]
        inner, gid = _ties(gid, k)
        sel = sel[inner]
        off += width
    return pos
