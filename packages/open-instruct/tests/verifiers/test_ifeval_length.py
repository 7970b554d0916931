"""Length constraints, hand-made positives and negatives."""

from __future__ import annotations

import pytest

from open_instruct.verifiers.ifeval import check_constraint

TEN_WORDS = "One two three four five, six seven eight nine ten."


@pytest.mark.parametrize(("num_words", "relation", "expected"), [
    (10, "at least", True), (11, "at least", False), (11, "less than", True), (10, "less than", False),
])
def test_number_words(num_words: int, relation: str, expected: bool) -> None:
    c = {"type": "length_constraints:number_words", "num_words": num_words, "relation": relation}
    assert check_constraint(TEN_WORDS, c) is expected


def test_words_are_runs_of_word_characters() -> None:
    c = {"type": "number_words", "num_words": 4, "relation": "at least"}
    assert check_constraint("it's well-known", c)  # it / s / well / known
    assert not check_constraint("--- !!! ...", {**c, "num_words": 1})


THREE_SENTENCES = "Dr. Smith arrived at 3.30 p.m. today. He said hello! Did the U.S.A. team win?"


@pytest.mark.parametrize(("num_sentences", "relation", "expected"), [
    (3, "at least", True), (4, "at least", False), (4, "less than", True), (3, "less than", False),
])
def test_number_sentences(num_sentences: int, relation: str, expected: bool) -> None:
    c = {"type": "length_constraints:number_sentences", "num_sentences": num_sentences, "relation": relation}
    assert check_constraint(THREE_SENTENCES, c) is expected


def test_sentences_end_at_quotes_and_ellipses() -> None:
    c = {"type": "number_sentences", "num_sentences": 3, "relation": "at least"}
    assert check_constraint('She said "go." Then she left... It rained', c)
    assert not check_constraint("One sentence e.g. with an abbreviation, etc. and more", {**c, "num_sentences": 2})


@pytest.mark.parametrize(("response", "n", "expected"), [
    ("First.\n***\nSecond.\n***\nThird.", 3, True),
    ("***\nFirst.\n***\nSecond.\n***", 2, True),       # empty text at either end is no paragraph
    ("First.\n***\nSecond.", 3, False),
    ("First.\n***\n***\nSecond.", 2, False),            # an empty paragraph between dividers
    ("First.\n\nSecond.", 2, False),                    # blank lines are not the divider
])
def test_number_paragraphs(response: str, n: int, expected: bool) -> None:
    assert check_constraint(response, {"type": "number_paragraphs", "num_paragraphs": n}) is expected


@pytest.mark.parametrize(("response", "kwargs", "expected"), [
    ("Intro here.\n\nBananas are yellow.", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "bananas"}, True),
    ('Intro.\n\n"Bananas," she said.', {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "Bananas"}, True),
    ("Intro here.\n\nApples are red.", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "bananas"}, False),
    ("Bananas.\n\nTwo.\n\nThree.", {"num_paragraphs": 2, "nth_paragraph": 1, "first_word": "bananas"}, False),
    ("Intro here.", {"num_paragraphs": 2, "nth_paragraph": 2, "first_word": "intro"}, False),
])
def test_nth_paragraph_first_word(response: str, kwargs: dict, expected: bool) -> None:
    assert check_constraint(response, {"type": "nth_paragraph_first_word", **kwargs}) is expected
