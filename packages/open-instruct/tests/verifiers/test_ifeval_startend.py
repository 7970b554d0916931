"""Start/end constraints, hand-made positives and negatives."""

from __future__ import annotations

import pytest

from open_instruct.verifiers.ifeval import check_constraint


@pytest.mark.parametrize(("response", "marker", "expected"), [
    ("Body.\n\nP.S. See you.", "P.S.", True), ("Body.\np. s. later", "P.S.", True), ("Body.\nP.P.S more", "P.P.S", True),
    ("Body.\nPS no dots", "P.S.", False), ("Body. P.S. inline counts too", "P.S.", True), ("Body.", "P.P.S", False),
    ("Body.\nNote: later", "Note:", True),
])
def test_postscript(response: str, marker: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "postscript", "postscript_marker": marker}) is expected


@pytest.mark.parametrize(("response", "expected"), [
    ("Done. Any other questions?", True), ('"Done. any other questions?"  ', True),
    ("Any other questions? Yes.", False), ("Any other questions", False),
])
def test_end_checker(response: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "end_checker", "end_phrase": "Any other questions?"}) is expected


@pytest.mark.parametrize(("response", "expected"), [
    ('"Quoted all through."', True), ('  "x"\n', True), ('"', False), ('"unclosed', False), ("'single'", False),
])
def test_quotation(response: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "startend:quotation"}) is expected


@pytest.mark.parametrize(("response", "expected"), [
    ("Write a poem about cats. Cats purr.", True), ("write a POEM about cats.\nCats purr.", True),
    ("Sure! Write a poem about cats.", False),
])
def test_repeat_prompt(response: str, expected: bool) -> None:
    c = {"type": "combination:repeat_prompt", "prompt_to_repeat": "Write a poem about cats."}
    assert check_constraint(response, c) is expected


@pytest.mark.parametrize(("response", "expected"), [
    ("First answer.\n******\nSecond answer.", True), ("******\nA\n******\nB\n", True),
    ("Same.\n******\nSame.", False), ("A\n******\n******\nB", False), ("Only one.", False),
    ("A\n******\nB\n******\nC", False),
])
def test_two_responses(response: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "combination:two_responses"}) is expected
