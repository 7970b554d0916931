"""Splitting text into the units IFEval counts: words, sentences, paragraphs."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+")
# A sentence ends at a run of . ! ? (and any closing quotes or brackets after it) followed by whitespace or the end.
_SENTENCE_END = re.compile(r"[.!?]+[\"'”’)\]]*(?=\s|$)")
# Periods that end no sentence: titles, Latin abbreviations, single initials, acronyms like U.S.A.
_NOT_AN_END = re.compile(
    r"\b(?:Mr|Mrs|Ms|Dr|Prof|St|Jr|Sr|Inc|Ltd|Co|vs|etc|e\.g|i\.e|[A-Z])\.$|\b(?:[A-Za-z]\.){2,}$"
)


def count_words(text: str) -> int:
    """Runs of word characters (letters, digits, underscore), as IFEval counts words."""
    return len(_WORD.findall(text))


def split_sentences(text: str) -> list[str]:
    """Sentences of ``text``: split after terminal punctuation, except after common abbreviations and initials.

    IFEval counts sentences with nltk's punkt model, whose data is not installable from a package registry;
    this rule-based splitter agrees with it on ordinary prose, not on every abbreviation punkt learned.
    """
    sentences, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        head = text[start:match.end()]
        if match.group().startswith(".") and len(match.group().rstrip("\"'”’)]")) == 1 and _NOT_AN_END.search(
                head.rstrip("\"'”’)]")):
            continue
        if head.strip():
            sentences.append(head.strip())
        start = match.end()
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def split_divided_paragraphs(text: str) -> list[str] | None:
    """Paragraphs separated by the markdown divider ``***``; None when an inner paragraph is empty
    (two dividers in a row). Empty text before the first or after the last divider is no paragraph."""
    parts = re.split(r"\s?\*\*\*\s?", text)
    kept = []
    for index, part in enumerate(parts):
        if part.strip():
            kept.append(part)
        elif 0 < index < len(parts) - 1:
            return None
    return kept
