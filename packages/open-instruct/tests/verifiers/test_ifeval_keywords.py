"""Keyword constraints, hand-made positives and negatives."""

from __future__ import annotations

import pytest

from open_instruct.verifiers.ifeval import check_constraint

TEXT = "The Potato harvest was good. Potatoes grow in the western fields (a+b)."


@pytest.mark.parametrize(("keywords", "expected"), [
    (["potato"], True), (["POTATO", "western"], True), (["potato", "eastern"], False), (["a+b"], True),
    (["(a+b)."], True), (["c+d"], False),
])
def test_existence(keywords: list[str], expected: bool) -> None:
    assert check_constraint(TEXT, {"type": "keywords:existence", "keywords": keywords}) is expected


@pytest.mark.parametrize(("words", "expected"), [
    (["tomato"], True), (["potato"], False), (["POTATO"], False), (["west"], True),  # whole words only
    (["harvest", "tomato"], False),
])
def test_forbidden_words(words: list[str], expected: bool) -> None:
    assert check_constraint(TEXT, {"type": "keywords:forbidden_words", "forbidden_words": words}) is expected


@pytest.mark.parametrize(("keyword", "frequency", "relation", "expected"), [
    ("potato", 2, "at least", True),     # 'Potato' and inside 'Potatoes'
    ("potato", 3, "at least", False),
    ("potato", 3, "less than", True),
    ("potato", 2, "less than", False),
    (" the ", 2, "at least", True),      # the keyword is stripped: 'The', 'the'
])
def test_frequency(keyword: str, frequency: int, relation: str, expected: bool) -> None:
    c = {"type": "keywords:frequency", "keyword": keyword, "frequency": frequency, "relation": relation}
    assert check_constraint(TEXT, c) is expected


@pytest.mark.parametrize(("letter", "n", "relation", "expected"), [
    ("o", 7, "at least", True), ("o", 8, "at least", False), ("O", 8, "less than", True), ("O", 7, "less than", False),
    ("z", 1, "less than", True),
])
def test_letter_frequency(letter: str, n: int, relation: str, expected: bool) -> None:
    c = {"type": "keywords:letter_frequency", "letter": letter, "let_frequency": n, "let_relation": relation}
    assert check_constraint(TEXT, c) is expected  # 'o': Potato x2, good x2, Potatoes x2, grow
