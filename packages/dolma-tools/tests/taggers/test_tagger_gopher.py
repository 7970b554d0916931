"""Gopher statistics against values computed by hand for tiny documents."""

from __future__ import annotations

import pytest

from dolma_tools.interfaces import Document
from dolma_tools.taggers import get_tagger


def _attrs(text: str) -> dict[str, float]:
    out = get_tagger("gopher_v1").predict(Document(id="d", text=text))
    for spans in out.values():
        assert len(spans) == 1 and spans[0][:2] == [0, len(text)]
    return {k.removeprefix(""): v[0][2] for k, v in out.items()}


def test_hand_computed_document() -> None:
    # words a b a b c d - e … (9 words of 1 character); lines "a b a b" / "c d" / "- e …"
    a = _attrs("a b a b\nc d\n- e \u2026")
    assert a["word_count"] == 9 and a["character_count"] == 17
    assert a["median_word_length"] == 1 and a["mean_word_length"] == 1
    assert a["symbol_to_word_ratio"] == pytest.approx(1 / 9)  # "…"
    assert a["fraction_of_words_with_alpha_character"] == pytest.approx(7 / 9)  # not "-" nor "…"
    assert a["required_word_count"] == 0
    assert a["fraction_of_lines_starting_with_bullet_point"] == pytest.approx(1 / 3)
    assert a["fraction_of_lines_ending_with_ellipsis"] == pytest.approx(1 / 3)
    assert a["fraction_of_duplicate_lines"] == 0
    # (a b) occurs twice: 2 * 2 chars / 9 chars; every 3- and 4-gram once: the first one counts
    assert a["fraction_of_characters_in_most_common_2grams"] == pytest.approx(4 / 9)
    assert a["fraction_of_characters_in_most_common_3grams"] == pytest.approx(3 / 9)
    assert a["fraction_of_characters_in_most_common_4grams"] == pytest.approx(4 / 9)
    for n in range(5, 10):
        assert a[f"fraction_of_characters_in_duplicate_{n}grams"] == 0
    assert "fraction_of_characters_in_duplicate_10grams" not in a  # only 9 words


def test_duplicate_lines_and_paragraphs() -> None:
    text = "x y z\n\nx y z\n\nw"  # 15 characters, 7 words
    a = _attrs(text)
    # lines: "x y z", "", "x y z", "", "w": four of five belong to a repeated line
    assert a["fraction_of_duplicate_lines"] == pytest.approx(4 / 5)
    # Dolma divides the characters of repeated lines (5 + 5) by the characters in words (7)
    assert a["fraction_of_characters_in_duplicate_lines"] == pytest.approx(10 / 7)
    assert a["fraction_of_duplicate_paragraphs"] == pytest.approx(1 / 3)
    assert a["fraction_of_characters_in_duplicate_paragraphs"] == pytest.approx(5 / 15)
    assert a["fraction_of_characters_in_most_common_2grams"] == pytest.approx(4 / 7)  # (x y) twice
    assert a["fraction_of_characters_in_most_common_3grams"] == pytest.approx(6 / 7)  # (x y z) twice


def test_duplicate_ngrams_and_stop_words() -> None:
    # "a b c d e" twice: of the six 5-grams, "a b c d e" appears twice -> 10 of 30 characters
    a = _attrs("a b c d e a b c d e")
    assert a["fraction_of_characters_in_duplicate_5grams"] == pytest.approx(10 / 30)
    assert a["fraction_of_characters_in_duplicate_6grams"] == 0
    assert _attrs("the cat and the dog")["required_word_count"] == 3


def test_empty_document() -> None:
    a = _attrs("")
    assert a["word_count"] == 0 and a["character_count"] == 0
