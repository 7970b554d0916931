"""Length constraints: words, sentences, paragraphs."""

from __future__ import annotations

import re

from open_instruct.verifiers.ifeval.registry import ConstraintError, compare, register_constraint
from open_instruct.verifiers.ifeval.text import count_words, split_divided_paragraphs, split_sentences


@register_constraint("length_constraints:number_words")
def number_words(response: str, *, num_words: int, relation: str) -> bool:
    return compare(count_words(response), relation, num_words)


@register_constraint("length_constraints:number_sentences")
def number_sentences(response: str, *, num_sentences: int, relation: str) -> bool:
    return compare(len(split_sentences(response)), relation, num_sentences)


@register_constraint("length_constraints:number_paragraphs")
def number_paragraphs(response: str, *, num_paragraphs: int) -> bool:
    """Exactly ``num_paragraphs`` paragraphs separated by ``***`` dividers, none of them empty."""
    paragraphs = split_divided_paragraphs(response)
    return paragraphs is not None and len(paragraphs) == num_paragraphs


@register_constraint("length_constraints:nth_paragraph_first_word")
def nth_paragraph_first_word(response: str, *, num_paragraphs: int, nth_paragraph: int, first_word: str) -> bool:
    """Exactly ``num_paragraphs`` blank-line-separated paragraphs, the ``nth_paragraph``-th (1-based) starting
    with ``first_word`` (case-insensitive; leading quotes and trailing punctuation ignored)."""
    if not 1 <= nth_paragraph <= num_paragraphs:
        raise ConstraintError(f"nth_paragraph_first_word: nth_paragraph {nth_paragraph} is not in 1..{num_paragraphs}")
    chunks = response.split("\n\n")
    count = sum(1 for c in chunks if c.strip())
    # IFEval indexes the raw chunks (empty ones included) but counts only the non-empty ones
    if nth_paragraph > count or not chunks[nth_paragraph - 1].strip():
        return False
    word = chunks[nth_paragraph - 1].split()[0].lstrip("'").lstrip('"')
    word = re.split(r"[.,?!'\"]", word, maxsplit=1)[0].lower()
    return count == num_paragraphs and word == first_word.lower()
