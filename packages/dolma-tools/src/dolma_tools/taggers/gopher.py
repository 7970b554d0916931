"""Gopher quality statistics (Rae et al. 2021, appendix A), with the definitions of Dolma's
``gopher_v1`` so that rules written for Dolma give the same decisions.

Counting n-grams is the cost of this tagger. Dolma builds a ``Counter`` of word tuples for each n
from 2 to 10; here every word becomes an integer id and each n-gram the dense id of the pair
(``(n-1)``-gram id, next word id), so all nine levels are a few sorted integer arrays in NumPy.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from dolma_tools.interfaces import Document
from dolma_tools.taggers.base import Spans, Tagger, register_tagger
from dolma_tools.taggers.chartables import code_points, unicode_classes

REQUIRED_ENGLISH_WORDS = frozenset({"the", "be", "to", "of", "and", "that", "have", "with"})
# A word "has a symbol" if it contains one of these (Dolma: "#" and the ellipsis).
SYMBOLS = "#\u2026"
_BULLET_LINE = re.compile(r"^[*\-]", re.MULTILINE)
_ELLIPSIS_LINE = re.compile("\u2026$", re.MULTILINE)
_PARAGRAPH_BREAK = re.compile(r"\n{2,}")

MOST_COMMON_NGRAMS = (2, 3, 4)
DUPLICATE_NGRAMS = (5, 6, 7, 8, 9, 10)


def _ngram_fractions(words: list[str], lens: np.ndarray, char_count: int) -> dict[str, float]:
    """Top 2-4-gram and duplicate 5-10-gram character fractions, as Dolma defines them:

    * most common n-gram: ``count * chars(ngram) / chars(all words)`` for the most frequent n-gram
      (ties: the one seen first);
    * duplicate n-grams: ``sum(count * chars(g) for g with count > 1) / sum(count * chars(g))``
      over all n-grams (overlapping occurrences are all counted, as in Dolma)."""
    out: dict[str, float] = {}
    n_words = len(words)
    if n_words < 2:
        return out
    hashes = np.fromiter(map(hash, words), dtype=np.int64, count=n_words)
    _, ids = np.unique(hashes, return_inverse=True)
    ids = ids.astype(np.int64)
    vocab = int(ids.max()) + 1
    cum = np.zeros(n_words + 1, dtype=np.int64)
    np.cumsum(lens, out=cum[1:])
    level = ids
    for n in range(2, 11):
        if n_words < n:
            break
        ngram_chars = cum[n:] - cum[:-n]
        code = level[:-1] * vocab + ids[n - 1:]
        # one unstable sort per level gives groups, counts, and (via reduceat) first positions
        order = np.argsort(code)
        ordered = code[order]
        new = np.empty(len(ordered), dtype=bool)
        new[0] = True
        np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
        group_sorted = np.cumsum(new) - 1
        counts = np.bincount(group_sorted)
        if n in MOST_COMMON_NGRAMS:
            top = counts.max()
            firsts = np.minimum.reduceat(order, np.flatnonzero(new))
            pos = firsts[counts == top].min()
            out[f"fraction_of_characters_in_most_common_{n}grams"] = float(top * ngram_chars[pos]) / max(
                char_count, 1)
        else:
            total = int(ngram_chars.sum())
            dup = int(ngram_chars[order[counts[group_sorted] > 1]].sum())
            out[f"fraction_of_characters_in_duplicate_{n}grams"] = dup / max(total, 1)
            if dup == 0:
                # no repeated n-gram means no repeated longer one either
                for m in range(n + 1, min(10, n_words) + 1):
                    out[f"fraction_of_characters_in_duplicate_{m}grams"] = 0.0
                break
        level = np.empty(len(order), dtype=np.int64)
        level[order] = group_sorted
    return out


def _words_with_alpha_and_symbols(text: str, n_words: int) -> tuple[int, int]:
    """How many whitespace words hold a letter (str.isalpha) and how many a "#" or "…", counted
    over the code points at once: word k is the k-th run of non-space characters."""
    if n_words == 0:
        return 0, 0
    classes = unicode_classes()
    codes = code_points(text)
    space = classes["space"][codes]
    starts = ~space
    starts[1:] &= space[:-1]
    word = np.cumsum(starts) - 1  # the word each non-space position belongs to
    alpha = int(np.count_nonzero(np.bincount(word[classes["alpha"][codes]], minlength=n_words)))
    symbols = 0
    if "#" in text or "\u2026" in text:
        sym = (codes == ord("#")) | (codes == ord("\u2026"))
        symbols = int(np.count_nonzero(np.bincount(word[sym], minlength=n_words)))
    return alpha, symbols


def gopher_statistics(text: str) -> dict[str, float]:
    """All statistics of one text as ``{attribute: value}`` (see :class:`GopherV1`)."""
    out: dict[str, float] = {}
    if not text:
        return {"character_count": 0, "word_count": 0, "median_word_length": 0.0, "symbol_to_word_ratio": 0.0,
                "fraction_of_words_with_alpha_character": 0.0, "required_word_count": 0,
                "fraction_of_lines_starting_with_bullet_point": 0.0,
                "fraction_of_lines_ending_with_ellipsis": 0.0, "fraction_of_duplicate_lines": 0.0,
                "fraction_of_characters_in_duplicate_lines": 0.0, "mean_word_length": 0.0,
                "fraction_of_duplicate_paragraphs": 0.0, "fraction_of_characters_in_duplicate_paragraphs": 0.0}
    words = text.split()
    n_words = len(words)
    lens = np.fromiter(map(len, words), dtype=np.int64, count=n_words)
    char_count = int(lens.sum())
    out.update(_ngram_fractions(words, lens, char_count))
    out["character_count"] = len(text)
    out["word_count"] = n_words
    out["median_word_length"] = float(np.median(lens)) if n_words else 0.0
    alpha, symbols = _words_with_alpha_and_symbols(text, n_words)
    out["symbol_to_word_ratio"] = symbols / max(n_words, 1)
    out["fraction_of_words_with_alpha_character"] = alpha / max(n_words, 1)
    out["required_word_count"] = sum(map(REQUIRED_ENGLISH_WORDS.__contains__, words))

    lines = text.split("\n")
    n_lines = len(lines)
    out["fraction_of_lines_starting_with_bullet_point"] = len(_BULLET_LINE.findall(text)) / n_lines
    out["fraction_of_lines_ending_with_ellipsis"] = (
        len(_ELLIPSIS_LINE.findall(text)) / n_lines if "\u2026" in text else 0.0)
    dup_lines = dup_line_chars = 0
    for line, count in Counter(lines).items():
        if count > 1:
            dup_lines += count
            dup_line_chars += len(line) * count
    out["fraction_of_duplicate_lines"] = dup_lines / n_lines
    # Dolma divides by the characters in words, not len(text); kept for comparable thresholds.
    out["fraction_of_characters_in_duplicate_lines"] = dup_line_chars / max(char_count, 1)

    # Gopher's own definitions, which Dolma's gopher_v1 lacks: mean word length, and repeated
    # paragraphs (blocks separated by blank lines) counting every occurrence after the first.
    out["mean_word_length"] = char_count / n_words if n_words else 0.0
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    seen: set[str] = set()
    dup_par = dup_par_chars = 0
    for p in paragraphs:
        if p in seen:
            dup_par += 1
            dup_par_chars += len(p)
        seen.add(p)
    out["fraction_of_duplicate_paragraphs"] = dup_par / max(len(paragraphs), 1)
    out["fraction_of_characters_in_duplicate_paragraphs"] = dup_par_chars / len(text)
    return out


@register_tagger("gopher_v1")
class GopherV1(Tagger):
    """Gopher quality statistics, one document-level span each, with Dolma gopher_v1 definitions.

    Words are ``text.split()``; lines are ``text.split("\\n")``. Attributes:
    ``word_count``; ``character_count`` (len(text)); ``median_word_length`` (Dolma's rule uses the
    median) and ``mean_word_length`` (Gopher's); ``symbol_to_word_ratio`` (words containing "#" or
    "…" / words); ``fraction_of_words_with_alpha_character``; ``required_word_count`` (words in
    {the, be, to, of, and, that, have, with}); ``fraction_of_lines_starting_with_bullet_point``
    ("*" or "-"); ``fraction_of_lines_ending_with_ellipsis`` ("…");
    ``fraction_of_duplicate_lines`` (lines occurring more than once, all occurrences, / lines);
    ``fraction_of_characters_in_duplicate_lines`` (their characters / characters in words);
    ``fraction_of_duplicate_paragraphs`` and ``fraction_of_characters_in_duplicate_paragraphs``
    (paragraphs split on blank lines; repeats after the first / paragraphs, / len(text));
    ``fraction_of_characters_in_most_common_{2,3,4}grams`` and
    ``fraction_of_characters_in_duplicate_{5..10}grams`` (see ``_ngram_fractions``; absent when the
    document has fewer than n words).

    Dolma v1 thresholds (the shipped recipe): 50 <= word_count <= 100000, 3 <= median_word_length
    <= 10, symbol_to_word_ratio <= 0.1, bullet lines <= 0.9, ellipsis lines <= 0.3, alpha words
    >= 0.8, required_word_count >= 2, duplicate lines and their characters <= 0.3, top 2/3/4-gram
    <= 0.20/0.18/0.16, duplicate 5..10-grams <= 0.15/0.14/0.13/0.12/0.11/0.10."""

    def predict(self, doc: Document) -> Spans:
        n = len(doc.text)
        return {k: [[0, n, v]] for k, v in gopher_statistics(doc.text).items()}
