"""Format constraints: title, highlighted sections, numbered sections, bullet lists, placeholders, JSON, commas."""

from __future__ import annotations

import json
import re

from open_instruct.verifiers.ifeval.registry import register_constraint

#: the answers IFEval's constrained-response instruction offers
CONSTRAINED_RESPONSES = ("My answer is yes.", "My answer is no.", "My answer is maybe.")


@register_constraint("detectable_format:title")
def title(response: str) -> bool:
    """A title in double angular brackets on one line, not blank: ``<<poem of joy>>``."""
    return any(t.strip("<>").strip() for t in re.findall(r"<<[^\n]+>>", response))


@register_constraint("detectable_format:number_highlighted_sections")
def number_highlighted_sections(response: str, *, num_highlights: int) -> bool:
    """At least ``num_highlights`` markdown highlights ``*like this*`` (bold ``**like this**`` counts too)."""
    single = [h for h in re.findall(r"\*[^\n*]*\*", response) if h.strip("*").strip()]
    bold = [h for h in re.findall(r"\*\*[^\n*]*\*\*", response) if h[2:-2].strip()]
    return len(single) + len(bold) >= num_highlights


@register_constraint("detectable_format:multiple_sections")
def multiple_sections(response: str, *, section_spliter: str, num_sections: int) -> bool:
    """At least ``num_sections`` sections opened by the splitter and a number (``SECTION 1``)."""
    splitter = section_spliter.strip()
    return len(re.split(rf"\s?{splitter}\s?\d+\s?", response)) - 1 >= num_sections


@register_constraint("detectable_format:number_bullet_lists")
def number_bullet_lists(response: str, *, num_bullets: int) -> bool:
    """Exactly ``num_bullets`` markdown bullet lines (``* item`` or ``- item``)."""
    stars = re.findall(r"^\s*\*[^*].*$", response, flags=re.MULTILINE)
    dashes = re.findall(r"^\s*-.*$", response, flags=re.MULTILINE)
    return len(stars) + len(dashes) == num_bullets


@register_constraint("detectable_content:number_placeholders")
def number_placeholders(response: str, *, num_placeholders: int) -> bool:
    """At least ``num_placeholders`` square-bracket placeholders such as ``[address]``."""
    return len(re.findall(r"\[.*?\]", response)) >= num_placeholders


@register_constraint("detectable_format:json_format")
def json_format(response: str) -> bool:
    """The whole response is one JSON value, optionally fenced in markdown ticks (```json ... ```)."""
    text = response.strip()
    for fence in ("```json", "```Json", "```JSON", "```"):
        if text.startswith(fence):
            text = text[len(fence):]
            break
    text = text.removesuffix("```").strip()
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@register_constraint("detectable_format:constrained_response")
def constrained_response(response: str) -> bool:
    """The response contains one of IFEval's offered answers ("My answer is yes." ...)."""
    text = response.strip()
    return any(option in text for option in CONSTRAINED_RESPONSES)


@register_constraint("punctuation:no_comma")
def no_comma(response: str) -> bool:
    return "," not in response
