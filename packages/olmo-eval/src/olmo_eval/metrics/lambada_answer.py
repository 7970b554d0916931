"""LAMBADA: the first word the model writes must be the passage's last word."""

from __future__ import annotations

_EDGE = "\"'“”‘’.,;:!?()[]{}*_-`"


def extract_first_word(generation: str) -> str:
    words = generation.strip().split()
    return words[0].strip(_EDGE) if words else ""


def lambada_match(generation: str, gold: str) -> bool:
    return extract_first_word(generation) == gold.strip().strip(_EDGE)
