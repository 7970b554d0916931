"""Normalized exact match: case, whitespace and one trailing period do not count; anything else does."""

from __future__ import annotations

import pytest

from open_instruct.verifiers import verify
from open_instruct.verifiers.exact import normalize


@pytest.mark.parametrize(("response", "answer"), [
    ("olleh", "olleh"),
    ("  Apple, Banana,   Cherry.  ", "apple, banana, cherry"),
    ("STRASSE", "straße"),       # casefold, not lower
    ("a\n\tb", "a b"),
    ("done.", "Done"),
])
def test_normalized_equal_passes(response: str, answer: str) -> None:
    assert verify("exact", response, answer=answer).correct


@pytest.mark.parametrize(("response", "answer"), [
    ("olleh!", "olleh"),
    ("apple,banana", "apple, banana"),
    ("The answer is olleh", "olleh"),
    ("ab", "a b"),
    ("", "x"),
])
def test_anything_else_fails(response: str, answer: str) -> None:
    verdict = verify("exact", response, answer=answer)
    assert not verdict.correct and verdict.score == 0.0 and "!=" in verdict.reason


def test_normalize() -> None:
    assert normalize("  Hello \n  World.  ") == "hello world"
    assert normalize("3.14") == "3.14"


def test_answer_must_be_text() -> None:
    with pytest.raises(TypeError, match="exact verifier"):
        verify("exact", "42", answer=42)
