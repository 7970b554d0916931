"""Repetition: repeated paragraphs (as spans the mixer can remove) and repeated word n-grams."""

from __future__ import annotations

import re

import numpy as np

from dolma_tools.interfaces import Document
from dolma_tools.taggers.base import Spans, Tagger, doc_span, register_tagger

_PARAGRAPH = re.compile(r"[^\n](?:[^\n]|\n(?![^\S\n]*\n))*")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """Paragraphs: maximal runs of text without a blank line, as ``(start, end)`` with surrounding
    whitespace left out; blank ones dropped."""
    out = []
    for m in _PARAGRAPH.finditer(text):
        body = m.group()
        if body.strip():
            start = m.start() + (len(body) - len(body.lstrip()))
            out.append((start, m.end() - (len(body) - len(body.rstrip()))))
    return out


def repeated_ngram_word_fraction(words: list[str], n: int) -> float:
    """Fraction of words covered by at least one word n-gram that occurs more than once."""
    if len(words) < n:
        return 0.0
    ids = np.unique(np.fromiter(map(hash, words), dtype=np.int64, count=len(words)), return_inverse=True)[1]
    level = ids.astype(np.int64)
    vocab = int(level.max()) + 1
    for k in range(1, n):
        code = level[:-1] * vocab + ids[k:]
        level = np.unique(code, return_inverse=True)[1].astype(np.int64)
    counts = np.bincount(level)
    repeated = counts[level] > 1  # per n-gram start position
    covered = np.zeros(len(words) + 1, dtype=np.int64)
    starts = np.nonzero(repeated)[0]
    np.add.at(covered, starts, 1)
    np.add.at(covered, starts + n, -1)
    return float((np.cumsum(covered)[: len(words)] > 0).sum()) / len(words)


@register_tagger("repetition_v1")
class RepetitionV1(Tagger):
    """Repeated content. ``repeated_paragraphs``: a span for every paragraph (text between blank
    lines, stripped for comparison) equal to an earlier one in the document (the first occurrence
    is kept); ``fraction_of_repeated_paragraphs``: those / paragraphs;
    ``fraction_of_words_in_repeated_{3,5,10}grams``: words (``text.split()``) covered by a word
    n-gram occurring more than once, / words. Option ``ngrams`` (default (3, 5, 10))."""

    def __init__(self, ngrams: tuple[int, ...] | list[int] = (3, 5, 10)) -> None:
        self.ngrams = tuple(int(n) for n in ngrams)

    def predict(self, doc: Document) -> Spans:
        text = doc.text
        spans = paragraph_spans(text)
        seen: set[str] = set()
        repeated: list[list[float]] = []
        for s, e in spans:
            key = text[s:e].strip()
            if key in seen:
                repeated.append([s, e, 1.0])
            seen.add(key)
        out: Spans = {}
        if repeated:
            out["repeated_paragraphs"] = repeated
        out["fraction_of_repeated_paragraphs"] = [doc_span(doc, len(repeated) / max(len(spans), 1))]
        words = text.split()
        for n in self.ngrams:
            out[f"fraction_of_words_in_repeated_{n}grams"] = [doc_span(doc, repeated_ngram_word_fraction(words, n))]
        return out
