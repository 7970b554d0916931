"""The ``ifeval`` verifier: all constraints or a fraction, IFEval's strict rule, clear errors for bad constraints."""

from __future__ import annotations

import pytest

from open_instruct.verifiers import verify
from open_instruct.verifiers.ifeval import CONSTRAINTS, ConstraintError, resolve

CONSTRAINTS_3 = [
    {"type": "punctuation:no_comma"},
    {"type": "change_case:english_lowercase"},
    {"type": "length_constraints:number_words", "num_words": 5, "relation": "less than"},
]


def test_all_constraints_hold() -> None:
    assert verify("ifeval", "short and quiet", constraints=CONSTRAINTS_3) == verify(
        "ifeval", "tiny", constraints=CONSTRAINTS_3)
    verdict = verify("ifeval", "short and quiet", constraints=CONSTRAINTS_3)
    assert verdict.correct and verdict.score == 1.0


def test_score_is_the_fraction_that_holds() -> None:
    verdict = verify("ifeval", "Short, and loud", constraints=CONSTRAINTS_3)
    assert not verdict.correct and verdict.score == pytest.approx(1 / 3)
    assert "no_comma" in verdict.reason and "english_lowercase" in verdict.reason


def test_empty_response_meets_nothing() -> None:
    # quotation-free, comma-free, under five words: each holds on '' alone, but IFEval's strict rule fails them
    verdict = verify("ifeval", "   ", constraints=[{"type": "punctuation:no_comma"}])
    assert not verdict.correct and verdict.score == 0.0 and "empty" in verdict.reason


def test_ifeval_data_set_rows_map_on_constraints() -> None:
    # IFEval rows carry every kwarg of every instruction, unset ones as None
    row = {"type": "keywords:existence", "keywords": ["cat"], "num_words": None, "relation": None}
    assert verify("ifeval", "a cat", constraints=[row]).correct


def test_short_names_resolve() -> None:
    assert resolve("no_comma") == "punctuation:no_comma"
    assert len(CONSTRAINTS) >= 20
    for group in ("length_constraints", "keywords", "change_case", "detectable_format", "startend"):
        assert any(name.startswith(group + ":") for name in CONSTRAINTS)


@pytest.mark.parametrize(("constraints", "message"), [
    ([{"type": "no_such"}], "unknown constraint type 'no_such'"),
    ([{"type": "number_words", "num_words": 5}], "relation"),
    ([{"type": "number_words", "num_words": 5, "relation": "at most"}], "relation must be"),
    ([{"type": "no_comma", "num_words": 5}], "num_words"),
    ([{"num_words": 5}], "'type' key"),
    ([], "non-empty list"),
])
def test_bad_constraints_are_clear_errors(constraints: list, message: str) -> None:
    with pytest.raises(ConstraintError, match=message):
        verify("ifeval", "text", constraints=constraints)
