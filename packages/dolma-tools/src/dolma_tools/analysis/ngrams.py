"""Top word n-grams: exact counts for small corpora, a count-min sketch for large ones.

Count-min sketch: ``depth`` rows of ``width`` counters; an n-gram adds 1 to one counter per row
(positions by double hashing of its xxh3-128), and its estimate is the minimum over the rows. The
estimate never undercounts and overcounts by at most ``e * N / width`` with probability
``1 - e^-depth`` (``N``: n-grams counted). Sketches of different files add up, so workers sketch
their files and the parent sums the tables. Candidates for the top list are each file's most
frequent n-grams (exact within the file); their global counts are read from the summed sketch."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from dolma_tools.dedupe.bloom import hash_items


def word_ngrams(text: str, n: int) -> list[str]:
    words = text.split()
    if n == 1:
        return words
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


class CountMinSketch:
    def __init__(self, width: int = 1 << 20, depth: int = 4, seed: int = 0, table: np.ndarray | None = None) -> None:
        self.width, self.depth, self.seed = width, depth, seed
        self.table = np.zeros((depth, width), dtype=np.int64) if table is None else table
        self.total = 0

    def _rows(self, items: list[str]) -> np.ndarray:
        h = hash_items(items, self.seed)
        i = np.arange(self.depth, dtype=np.uint64)[:, None]
        with np.errstate(over="ignore"):
            return ((h[None, :, 0] + i * (h[None, :, 1] | np.uint64(1))) % np.uint64(self.width)).view(np.int64)

    def add(self, items: list[str]) -> None:
        if not items:
            return
        for r, idx in enumerate(self._rows(items)):
            self.table[r] += np.bincount(idx, minlength=self.width)
        self.total += len(items)

    def estimate(self, items: list[str]) -> np.ndarray:
        if not items:
            return np.zeros(0, dtype=np.int64)
        rows = self._rows(items)
        return np.min(np.stack([self.table[r][idx] for r, idx in enumerate(rows)]), axis=0)

    def merge(self, other: CountMinSketch) -> None:
        self.table += other.table
        self.total += other.total


@dataclass
class NgramCounts:
    """Mergeable n-gram counts of some documents: exact, or a sketch plus local candidates."""

    n: int
    exact: bool
    counts: Counter[str] = field(default_factory=Counter)
    sketch: CountMinSketch | None = None
    total: int = 0

    @classmethod
    def count(cls, texts: Iterable[str], n: int, *, exact: bool, candidates: int = 200,
              width: int = 1 << 18, depth: int = 4) -> NgramCounts:
        out = cls(n=n, exact=exact, sketch=None if exact else CountMinSketch(width, depth))
        local: Counter[str] = Counter()
        batch: list[str] = []
        for text in texts:
            grams = word_ngrams(text, n)
            local.update(grams)
            out.total += len(grams)
            if out.sketch is not None:
                batch.extend(grams)
                if len(batch) > 200_000:
                    out.sketch.add(batch)
                    batch = []
        if out.sketch is not None:
            out.sketch.add(batch)
            out.counts = Counter(dict(local.most_common(candidates)))
        else:
            out.counts = local
        return out

    def merge(self, other: NgramCounts) -> None:
        self.total += other.total
        if self.exact:
            self.counts.update(other.counts)
        else:
            assert self.sketch is not None and other.sketch is not None
            self.sketch.merge(other.sketch)
            for k in other.counts:
                self.counts.setdefault(k, 0)

    def top(self, k: int) -> list[tuple[str, int]]:
        if self.exact:
            return self.counts.most_common(k)
        assert self.sketch is not None
        cands = list(self.counts)
        est = self.sketch.estimate(cands)
        order = np.argsort(-est, kind="stable")[:k]
        return [(cands[i], int(est[i])) for i in order]
