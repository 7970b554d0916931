"""Queries over a built index, memory-mapped: counts and locations of a token sequence, and the
maximal spans of a sequence that occur verbatim in the indexed stream.

A query is a binary search on the suffix array, comparing the query's big-endian bytes with slices
of ``tokens.be``; the first-token table narrows it to that token's suffixes first. Nothing is read
into memory but the pages the searches touch (and the document table, on the first location)."""

from __future__ import annotations

import json
import mmap
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dolma_tools.index.build import INDEX_FORMAT


@dataclass(frozen=True)
class Occurrence:
    position: int  # global token position of the match
    document: int  # index of the document in stream order
    doc_id: str
    source: str
    raw_file: str  # the raw document file it was tokenized from
    line: int  # 1-based line in the raw file (0: not recorded)
    shard: str  # the token shard file
    shard_offset: int  # token offset of the match in the shard
    doc_offset: int  # token offset of the match in its document

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Span:
    start: int  # token offsets into the query, end exclusive
    end: int
    count: int  # occurrences in the indexed stream

    @property
    def length(self) -> int:
        return self.end - self.start


def _open_map(path: Path) -> mmap.mmap:
    with open(path, "rb") as f:
        return mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)


class TokenIndex:
    """A finished index folder (``index.json`` present), opened read-only."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        meta_path = self.path / "index.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{self.path}: not a finished token index (no index.json); build it first")
        self.meta: dict[str, Any] = json.loads(meta_path.read_text())
        if self.meta.get("format") != INDEX_FORMAT:
            raise ValueError(f"{meta_path}: field 'format' is {self.meta.get('format')!r}, not {INDEX_FORMAT!r}")
        self.num_tokens = int(self.meta["num_tokens"])
        self.eos_id: int | None = self.meta.get("eos_id")
        self.dtype = np.dtype(self.meta["dtype"]).newbyteorder(">")
        self.width = self.dtype.itemsize
        self._text = _open_map(self.path / "tokens.be")
        self._sa_map = _open_map(self.path / "sa.bin")
        self._sa = memoryview(self._sa_map).cast("I" if self.meta["sa_dtype"] == "uint32" else "Q")
        self._first: list[int] = np.load(self.path / "first.npy").tolist()
        self._doc_starts: np.ndarray | None = None
        self._docs: list[list[Any]] | None = None

    def close(self) -> None:
        self._sa.release()
        self._sa_map.close()
        self._text.close()

    def __enter__(self) -> TokenIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ counting

    def encode(self, ids: Sequence[int] | np.ndarray) -> bytes:
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= 1 << (8 * self.width)):
            raise ValueError(f"token ids must lie in [0, {1 << (8 * self.width)}) for a {self.meta['dtype']} index")
        return arr.astype(self.dtype).tobytes()

    def _bounds(self, q: bytes, lo: int, hi: int) -> tuple[int, int]:
        """The suffix-array rows in ``[lo, hi)`` whose suffixes start with ``q``."""
        text, sa, w, m = self._text, self._sa, self.width, len(q)
        a, b = lo, hi
        while a < b:
            mid = (a + b) >> 1
            p = sa[mid] * w
            if text[p:p + m] < q:
                a = mid + 1
            else:
                b = mid
        start, b = a, hi
        while a < b:
            mid = (a + b) >> 1
            p = sa[mid] * w
            if text[p:p + m] <= q:
                a = mid + 1
            else:
                b = mid
        return start, a

    def _rows_of(self, q: bytes) -> tuple[int, int]:
        if not q:
            return 0, self.num_tokens
        t = int.from_bytes(q[:self.width], "big")
        if t + 1 >= len(self._first):
            return 0, 0
        lo, hi = self._first[t], self._first[t + 1]
        if len(q) == self.width or lo == hi:
            return lo, hi
        return self._bounds(q, lo, hi)

    def find(self, ids: Sequence[int] | np.ndarray) -> tuple[int, int]:
        """The suffix-array rows ``[lo, hi)`` of the occurrences of ``ids``."""
        return self._rows_of(self.encode(ids))

    def count(self, ids: Sequence[int] | np.ndarray) -> int:
        lo, hi = self.find(ids)
        return hi - lo

    # ------------------------------------------------------------------ locating

    def positions(self, ids: Sequence[int] | np.ndarray, limit: int | None = None) -> np.ndarray:
        """Global positions of the occurrences (at most ``limit``, in suffix order), sorted."""
        lo, hi = self.find(ids)
        if limit is not None:
            hi = min(hi, lo + limit)
        dtype = "<u4" if self.meta["sa_dtype"] == "uint32" else "<u8"
        rows = np.frombuffer(self._sa_map, dtype=dtype, count=hi - lo, offset=lo * np.dtype(dtype).itemsize)
        return np.sort(rows.astype(np.int64))

    def _load_documents(self) -> tuple[np.ndarray, list[list[Any]]]:
        if self._doc_starts is None or self._docs is None:
            self._doc_starts = np.load(self.path / "documents.npy")
            with open(self.path / "documents.jsonl", encoding="utf-8") as f:
                self._docs = [json.loads(line) for line in f]
        return self._doc_starts, self._docs

    def occurrence(self, position: int) -> Occurrence:
        starts, docs = self._load_documents()
        d = int(np.searchsorted(starts, position, side="right")) - 1
        doc_id, source, raw, line, shard, shard_start = docs[d]
        off = position - int(starts[d])
        return Occurrence(int(position), d, doc_id, source, raw, int(line), shard, int(shard_start) + off, off)

    def locate(self, ids: Sequence[int] | np.ndarray, limit: int | None = None) -> list[Occurrence]:
        return [self.occurrence(int(p)) for p in self.positions(ids, limit)]

    def tokens(self, start: int, end: int) -> np.ndarray:
        """Ids ``[start, end)`` of the indexed stream."""
        start, end = max(0, start), min(self.num_tokens, end)
        return np.frombuffer(self._text, dtype=self.dtype, count=max(0, end - start),
                             offset=start * self.width).astype(np.int64)

    # ------------------------------------------------------------------ spans

    def longest_match(self, ids: Sequence[int] | np.ndarray, start: int = 0, known: int = 0) -> Span:
        """The longest prefix of ``ids[start:]`` occurring in the stream; ``known``: a length known to
        occur (skips that part of the search)."""
        return self._longest(self.encode(ids), start, known)

    def _longest(self, q: bytes, start: int, known: int) -> Span:
        w, n = self.width, len(q) // self.width
        m = known
        lo, hi = self._rows_of(q[start * w:(start + m) * w])
        if lo == hi:
            raise ValueError(f"ids[{start}:{start + m}] does not occur; 'known' was wrong")
        while start + m < n:
            lo2, hi2 = self._bounds(q[start * w:(start + m + 1) * w], lo, hi) if m else \
                self._rows_of(q[start * w:(start + 1) * w])
            if lo2 == hi2:
                break
            lo, hi, m = lo2, hi2, m + 1
        return Span(start, start + m, hi - lo if m else 0)

    def maximal_spans(self, ids: Sequence[int] | np.ndarray, min_len: int = 1,
                      stop_ids: Sequence[int] = ()) -> list[Span]:
        """Spans of ``ids`` of at least ``min_len`` tokens that occur verbatim and are not contained in
        a longer such span (OLMoTrace's maximal matching spans). A span never crosses a token of
        ``stop_ids`` (e.g. EOS: a document boundary)."""
        arr = np.asarray(ids, dtype=np.int64)
        cuts = [-1, *np.flatnonzero(np.isin(arr, list(stop_ids))).tolist(), len(arr)]
        spans: list[Span] = []
        for a, b in zip(cuts[:-1], cuts[1:]):
            seg = self.encode(arr[a + 1:b])
            reach, known = 0, 0
            for i in range(len(seg) // self.width):
                s = self._longest(seg, i, known)
                known = max(s.length - 1, 0)  # a suffix of a match is a match
                if s.length >= min_len and s.end > reach:
                    spans.append(Span(s.start + a + 1, s.end + a + 1, s.count))
                    reach = s.end
        return spans
