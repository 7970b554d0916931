"""Format constraints, hand-made positives and negatives."""

from __future__ import annotations

import pytest

from open_instruct.verifiers.ifeval import check_constraint


@pytest.mark.parametrize(("response", "expected"), [
    ("<<Poem of Joy>>\nRoses are red.", True), ("Roses <<red>> are", True),
    ("<< >>\nRoses", False), ("<<Poem\nof joy>>", False), ("<Poem>", False),
])
def test_title(response: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "detectable_format:title"}) is expected


@pytest.mark.parametrize(("response", "n", "expected"), [
    ("*one* and *two*", 2, True), ("**bold one** and *two*", 2, True), ("*one* and ** **", 2, False),
    ("*one\nbroken* text", 1, False), ("no highlights", 1, False),
])
def test_number_highlighted_sections(response: str, n: int, expected: bool) -> None:
    assert check_constraint(response, {"type": "number_highlighted_sections", "num_highlights": n}) is expected


@pytest.mark.parametrize(("response", "n", "expected"), [
    ("SECTION 1\nIntro\nSECTION 2\nBody", 2, True), ("Section 1 a Section 2 b Section 3 c", 3, True),
    ("SECTION 1\nIntro", 2, False), ("SECTION one\nSECTION two", 1, False),
])
def test_multiple_sections(response: str, n: int, expected: bool) -> None:
    splitter = "Section" if "Section" in response else "SECTION"
    c = {"type": "multiple_sections", "section_spliter": splitter, "num_sections": n}
    assert check_constraint(response, c) is expected


@pytest.mark.parametrize(("response", "n", "expected"), [
    ("* one\n* two\n- three", 3, True), ("Intro\n  * nested\n* top", 2, True),
    ("* one\n** not a bullet\n* two", 2, True), ("* one\n* two", 3, False), ("1. one\n2. two", 2, False),
])
def test_number_bullet_lists(response: str, n: int, expected: bool) -> None:
    assert check_constraint(response, {"type": "number_bullet_lists", "num_bullets": n}) is expected


@pytest.mark.parametrize(("response", "n", "expected"), [
    ("Dear [name], at [address].", 2, True), ("Dear [name].", 2, False), ("no placeholder", 1, False),
])
def test_number_placeholders(response: str, n: int, expected: bool) -> None:
    assert check_constraint(response, {"type": "number_placeholders", "num_placeholders": n}) is expected


@pytest.mark.parametrize(("response", "expected"), [
    ('{"a": 1}', True), ('```json\n{"a": [1, 2]}\n```', True), ("```\n[1, 2]\n```", True), ("  42  ", True),
    ('Here: {"a": 1}', False), ('{"a": 1', False), ("```json\n{'a': 1}\n```", False),
])
def test_json_format(response: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "detectable_format:json_format"}) is expected


@pytest.mark.parametrize(("response", "expected"), [
    ("My answer is yes.", True), ("Well... My answer is maybe. Sorry", True), ("My answer is yes", False),
    ("my answer is no.", False),
])
def test_constrained_response(response: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "constrained_response"}) is expected


@pytest.mark.parametrize(("response", "expected"), [("no commas here.", True), ("one, two", False)])
def test_no_comma(response: str, expected: bool) -> None:
    assert check_constraint(response, {"type": "punctuation:no_comma"}) is expected
