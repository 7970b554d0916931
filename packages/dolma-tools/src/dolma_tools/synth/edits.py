"""Near-duplicates at a target Jaccard similarity over word shingles.

A copy is made by editing whole words of the original (substitute, insert after, delete), keeping
the whitespace that follows each word so paragraphs survive. The edited positions are a fixed random
permutation of the words and the copy with the first ``k`` edits is searched by bisection on ``k``
until its exact Jaccard falls in the band: similarity falls as edits are added, though not strictly
(two edits close together spoil fewer shingles than two apart), hence the short scan that follows a
failed bisection."""

from __future__ import annotations

import re

import numpy as np

_TOKEN = re.compile(r"(\S+)(\s*)")


def shingle_set(words: list[str], size: int) -> set[tuple[str, ...]]:
    """The word ``size``-grams of ``words`` (a text shorter than that is one shingle of all its words,
    as MinHash shingles it)."""
    if len(words) <= size:
        return {tuple(words)} if words else set()
    return set(zip(*(words[i:] for i in range(size)), strict=False))


def jaccard(x: str, y: str, size: int = 5) -> float:
    """Exact Jaccard similarity of the word ``size``-gram sets of two texts."""
    sx, sy = shingle_set(x.split(), size), shingle_set(y.split(), size)
    if not sx and not sy:
        return 1.0
    return len(sx & sy) / len(sx | sy)


class NearDuplicateMaker:
    """Edits one original toward any band; ``vocabulary`` supplies inserted/substituted words."""

    def __init__(self, text: str, vocabulary: np.ndarray, rng: np.random.Generator, shingle_size: int = 5) -> None:
        stripped = text.lstrip()
        self.lead = text[:len(text) - len(stripped)]
        pairs = _TOKEN.findall(stripped)
        self.words = [w for w, _ in pairs]
        self.spaces = [s for _, s in pairs]
        n = len(self.words)
        self.size = shingle_size
        self.order = rng.permutation(n)
        self.ops = rng.integers(0, 3, size=n)  # 0 substitute, 1 insert after, 2 delete
        self.new_words = vocabulary[rng.integers(0, len(vocabulary), size=n)]
        self.base = shingle_set(self.words, shingle_size)

    def _edited(self, k: int) -> tuple[list[str], list[str]]:
        edit = np.full(len(self.words), -1)
        edit[self.order[:k]] = self.ops[self.order[:k]]
        words: list[str] = []
        spaces: list[str] = []
        for i, (w, s, op) in enumerate(zip(self.words, self.spaces, edit.tolist(), strict=True)):
            if op == 2:
                continue
            if op == 0:
                w = str(self.new_words[i])
            words.append(w)
            spaces.append(s or " ")
            if op == 1:
                words.append(str(self.new_words[i]))
                spaces.append(s)
                spaces[-2] = " "
        if spaces:
            spaces[-1] = self.spaces[-1] if self.spaces else ""
        return words, spaces

    def similarity(self, k: int) -> float:
        other = shingle_set(self._edited(k)[0], self.size)
        union = len(self.base | other)
        return len(self.base & other) / union if union else 1.0

    def text(self, k: int) -> str:
        words, spaces = self._edited(k)
        return self.lead + "".join(w + s for w, s in zip(words, spaces, strict=True))

    def edits_for(self, lo: float, hi: float) -> int | None:
        """A number of edits (>= 1) whose copy has Jaccard in ``[lo, hi)`` (``hi`` 1 counts as below
        1: an edited copy is never identical), or ``None`` if none is found."""
        n = len(self.words)
        a, b = 1, n
        seen: dict[int, float] = {}
        mid = (lo + min(hi, 1.0)) / 2
        # first probe: k edits, each spoiling ~shingle_size shingles and making as many new ones,
        # give J ~ (n - s k) / (n + s k); the bisection takes over from there
        k = min(n, max(1, round(n * (1 - mid) / (self.size * (1 + mid)))))
        while a <= b:
            if k is None:
                k = (a + b) // 2
            j = seen.setdefault(k, self.similarity(k))
            if j >= hi or j == 1.0:
                a = k + 1
            elif j < lo:
                b = k - 1
            else:
                return k
            k = None
        for k in range(max(1, b - 8), min(n, a + 8) + 1):  # not monotone near the crossing
            j = seen.get(k)
            j = self.similarity(k) if j is None else j
            if lo <= j < hi and j < 1.0:
                return k
        return None
