"""GSM8K-style final-answer match: positives and negatives, hand-made."""

from __future__ import annotations

import pytest

from open_instruct.verifiers import verify


@pytest.mark.parametrize(("response", "answer"), [
    ("She has 3 apples and buys 4 more, so 7.\n#### 7", "7"),
    ("#### 1,234", "1234"),
    ("The total is $1,234.", "1234"),
    ("It costs $18.", "$18"),
    ("First 12, then 30, finally 42.", "42"),
    ("The answer is -15.", "-15"),
    ("2.50 dollars", "2.5"),
    ("0.1", 0.1),
    ("#### 42 apples", 42),
    ("the result is 1000000000000000000001", "1000000000000000000001"),
    ("it is 3.0000001", "3"),          # within the 1e-6 tolerance
    ("#### 5\nThen some trailing talk about 9 things", "5"),  # '####' wins over the last number
    ("Answer: .5", "0.5"),
])
def test_final_answer_matches(response: str, answer) -> None:
    verdict = verify("numeric", response, answer=answer)
    assert verdict.correct and verdict.score == 1.0 and verdict.reason == ""


@pytest.mark.parametrize(("response", "answer", "reason"), [
    ("First 42, then 30.", "42", "30"),              # the last number is the answer, not any number
    ("#### 41\nI first thought 42", "42", "41"),
    ("I do not know.", "42", "no number"),
    ("#### none", "42", "no number"),
    ("42.001", "42", "42.001"),
    ("3.000002", "3", "3.000002"),                    # outside the tolerance
    ("1000000000000000000002", "1000000000000000000001", "1000000000000000000002"),
    ("-7", "7", "-7"),
])
def test_wrong_or_missing_answer_fails(response: str, answer, reason: str) -> None:
    verdict = verify("numeric", response, answer=answer)
    assert not verdict.correct and verdict.score == 0.0
    assert reason in verdict.reason


@pytest.mark.parametrize("answer", ["no digits", True, None, [1]])
def test_bad_gold_answer_is_an_error(answer) -> None:
    with pytest.raises((ValueError, TypeError), match="numeric verifier"):
        verify("numeric", "42", answer=answer)
