"""Case constraints, hand-made positives and negatives."""

from __future__ import annotations

import pytest

from open_instruct.verifiers.ifeval import check_constraint


@pytest.mark.parametrize(("response", "expected"), [
    ("all lowercase, with 3 numbers!", True), ("one Capital", False), ("123 ...", False), ("", False),
])
def test_english_lowercase(response: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "change_case:english_lowercase"}) is expected


@pytest.mark.parametrize(("response", "expected"), [
    ("ALL CAPITALS, 42 TIMES!", True), ("ALMOST ALl", False), ("42", False),
])
def test_english_capital(response: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "change_case:english_capital"}) is expected


@pytest.mark.parametrize(("frequency", "relation", "expected"), [
    (4, "at least", True), (5, "at least", False), (5, "less than", True), (4, "less than", False),
])
def test_capital_word_frequency(frequency: int, relation: str, expected: bool) -> None:
    # capital words: I, NOT, WELL-KNOWN (hyphenated: one word), NASA; 'Hello' and '42' are not
    response = "Hello, I am NOT a WELL-KNOWN person at NASA, 42 times."
    c = {"type": "change_case:capital_word_frequency", "capital_frequency": frequency, "capital_relation": relation}
    assert check_constraint(response, c) is expected
