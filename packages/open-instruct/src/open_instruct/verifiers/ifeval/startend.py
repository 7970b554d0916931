"""Constraints on how a response starts and ends: postscript, end phrase, quotation marks, repeating the
prompt, two responses."""

from __future__ import annotations

import re

from open_instruct.verifiers.ifeval.registry import register_constraint


@register_constraint("detectable_content:postscript")
def postscript(response: str, *, postscript_marker: str) -> bool:
    """A line holds the postscript marker (case-insensitive). ``P.S.`` and ``P.P.S`` also match when written
    with a space between their letters (``p. s.``)."""
    marker = postscript_marker.strip()
    if marker == "P.P.S":
        pattern = r"\s*p\.\s?p\.\s?s.*$"
    elif marker == "P.S.":
        pattern = r"\s*p\.\s?s\..*$"
    else:
        # IFEval matches other markers as regular expressions
        pattern = r"\s*" + marker.lower() + r".*$"
    return re.search(pattern, response.lower(), flags=re.MULTILINE) is not None


@register_constraint("startend:end_checker")
def end_checker(response: str, *, end_phrase: str) -> bool:
    """The response ends with ``end_phrase`` (case-insensitive; surrounding whitespace and quotes ignored)."""
    return response.strip().strip('"').lower().endswith(end_phrase.strip().lower())


@register_constraint("startend:quotation")
def quotation(response: str) -> bool:
    """The whole response is wrapped in double quotation marks."""
    text = response.strip()
    return len(text) > 1 and text[0] == '"' and text[-1] == '"'


@register_constraint("combination:repeat_prompt")
def repeat_prompt(response: str, *, prompt_to_repeat: str) -> bool:
    """The response starts by repeating the prompt word for word (case-insensitive)."""
    return response.strip().lower().startswith(prompt_to_repeat.strip().lower())


@register_constraint("combination:two_responses")
def two_responses(response: str) -> bool:
    """Exactly two different responses separated by six asterisks ``******``."""
    parts = response.split("******")
    kept = []
    for index, part in enumerate(parts):
        if part.strip():
            kept.append(part.strip())
        elif 0 < index < len(parts) - 1:
            return False
    return len(kept) == 2 and kept[0] != kept[1]
