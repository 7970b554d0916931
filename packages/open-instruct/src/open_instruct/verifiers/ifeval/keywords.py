"""Keyword constraints: words that must appear, must not appear, or appear a number of times."""

from __future__ import annotations

import re

from open_instruct.verifiers.ifeval.registry import compare, register_constraint


def _occurrences(needle: str, text: str) -> int:
    return len(re.findall(re.escape(needle), text, flags=re.IGNORECASE))


@register_constraint("keywords:existence")
def existence(response: str, *, keywords: list[str]) -> bool:
    """Every keyword appears (case-insensitive, anywhere, also inside a longer word)."""
    return all(_occurrences(k, response) for k in keywords)


@register_constraint("keywords:forbidden_words")
def forbidden_words(response: str, *, forbidden_words: list[str]) -> bool:
    """No forbidden word appears as a whole word (case-insensitive)."""
    return not any(re.search(rf"\b{re.escape(w)}\b", response, flags=re.IGNORECASE) for w in forbidden_words)


@register_constraint("keywords:frequency")
def frequency(response: str, *, keyword: str, frequency: int, relation: str) -> bool:
    """``keyword`` (case-insensitive, non-overlapping, also inside longer words) appears ``relation frequency`` times."""
    return compare(_occurrences(keyword.strip(), response), relation, frequency)


@register_constraint("keywords:letter_frequency")
def letter_frequency(response: str, *, letter: str, let_frequency: int, let_relation: str) -> bool:
    """The letter (case-insensitive) appears ``let_relation let_frequency`` times."""
    return compare(response.lower().count(letter.lower()), let_relation, let_frequency)
