"""Normalized exact match: case, surrounding and repeated whitespace and a trailing period do not count."""

from __future__ import annotations

import re

from open_instruct.verifiers.registry import Verdict, register_verifier

_WHITESPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """Strip, casefold, collapse whitespace runs to one space and drop one trailing period."""
    text = _WHITESPACE.sub(" ", text.strip().casefold())
    return text.removesuffix(".").rstrip()


@register_verifier("exact")
def exact(response: str, *, answer: str) -> Verdict:
    """Correct iff the normalized response equals the normalized ``answer``."""
    if not isinstance(answer, str):
        raise TypeError(f"exact verifier: answer must be a str, got {type(answer).__name__}")
    got, gold = normalize(response), normalize(answer)
    if got == gold:
        return Verdict.passed()
    return Verdict.failed(f"{got[:80]!r} != {gold[:80]!r}")
