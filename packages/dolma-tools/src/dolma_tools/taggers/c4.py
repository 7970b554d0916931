"""C4 heuristics (Raffel et al. 2020) with the definitions of Dolma's ``c4_v1``."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from dolma_tools.interfaces import Document
from dolma_tools.taggers.base import Spans, Tagger, doc_span, register_tagger

MIN_WORDS_PER_LINE = 3
EOL_PUNCTUATION = (".", "?", "!", '"')
POLICY_SUBSTRINGS = ("terms of use", "privacy policy", "cookie policy", "uses cookies", "use of cookies",
                     "use cookies")


@lru_cache(maxsize=1)
def bad_words() -> tuple[frozenset[str], tuple[str, ...]]:
    """The shipped LDNOOBW English list, split into single words and multi-word phrases."""
    text = resources.files("dolma_tools.data.wordlists").joinpath("naughty_words_en.txt").read_text("utf-8")
    lines = text.splitlines()
    return frozenset(w for w in lines if " " not in w), tuple(w for w in lines if " " in w)


@register_tagger("c4_v1")
class C4V1(Tagger):
    """C4 rules. Lines are ``text.split("\\n")``; a line span includes its newline.

    Line spans (score 1.0): ``lines_with_no_ending_punctuation`` (stripped line does not end in
    . ? ! or "), ``lines_with_too_few_words`` (fewer than 3 whitespace words),
    ``lines_with_javascript`` (the word "javascript"), ``lines_with_policy`` (terms of use, privacy
    policy, cookie policy, uses/use of/use cookies; all case-insensitive).
    Document flags (a span over the document, present only when true): ``has_naughty_word`` (a word
    or phrase of the shipped LDNOOBW list), ``has_javascript``, ``has_lorem_ipsum``,
    ``has_curly_brace``; and ``line_count``. The first two line kinds and all flags are exactly
    Dolma's c4_v1; C4 itself drops documents with lorem ipsum or a curly brace and removes the
    javascript and policy lines."""

    def predict(self, doc: Document) -> Spans:
        text = doc.text
        n = len(text)
        lines = text.split("\n")
        no_punct: list[list[float]] = []
        few_words: list[list[float]] = []
        offset = 0
        last = len(lines) - 1
        for i, line in enumerate(lines):
            end = offset + len(line) + (i < last)
            stripped = line.strip()
            if not stripped.endswith(EOL_PUNCTUATION):
                no_punct.append([offset, end, 1.0])
            if len(stripped.split(None, MIN_WORDS_PER_LINE - 1)) < MIN_WORDS_PER_LINE:
                few_words.append([offset, end, 1.0])
            offset = end
        out: Spans = {}
        if no_punct:
            out["lines_with_no_ending_punctuation"] = no_punct
        if few_words:
            out["lines_with_too_few_words"] = few_words
        low = text.lower()
        words, phrases = bad_words()
        if not words.isdisjoint(low.split()) or any(p in low for p in phrases):
            out["has_naughty_word"] = [doc_span(doc, 1.0)]
        if "javascript" in low:
            js = _line_spans(lines, lambda s: "javascript" in s.lower().split())
            if js:
                out["has_javascript"] = [doc_span(doc, 1.0)]
                out["lines_with_javascript"] = js
        if "lorem ipsum" in low:
            out["has_lorem_ipsum"] = [doc_span(doc, 1.0)]
        if "{" in text:
            out["has_curly_brace"] = [doc_span(doc, 1.0)]
        if any(p in low for p in POLICY_SUBSTRINGS):
            out["lines_with_policy"] = _line_spans(lines, lambda s: any(p in s.lower() for p in POLICY_SUBSTRINGS))
        out["line_count"] = [[0, n, len(lines)]]
        return out


def _line_spans(lines: list[str], pred) -> list[list[float]]:  # noqa: ANN001
    spans = []
    offset = 0
    last = len(lines) - 1
    for i, line in enumerate(lines):
        end = offset + len(line) + (i < last)
        if pred(line):
            spans.append([offset, end, 1.0])
        offset = end
    return spans
