"""GSM8K: the number after "So the answer is" (the shipped few-shot format), else the last number
in the text; compared as numbers after dropping ``,``, ``$`` and a trailing period (OLMES's
``regexes_to_ignore``)."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

# "So the answer is - 10." occurs in the shipped gold: a spaced minus still belongs to the number
_SO_THE_ANSWER = re.compile(r"answer is\s*\$?\s*(-?\s?[0-9][0-9,]*(?:\.[0-9]+)?)")
_NUMBER = re.compile(r"-?[0-9][0-9,]*(?:\.[0-9]+)?")
_HASHES = re.compile(r"####\s*(-?[0-9][0-9,]*(?:\.[0-9]+)?)")


def extract_gsm8k_answer(text: str) -> str | None:
    for pattern in (_HASHES, _SO_THE_ANSWER):
        matches = pattern.findall(text)
        if matches:
            return _clean(matches[-1])
    numbers = _NUMBER.findall(text)
    return _clean(numbers[-1]) if numbers else None


def _clean(number: str) -> str:
    return number.replace(",", "").replace("$", "").replace(" ", "").rstrip(".")


def gsm8k_equivalent(prediction: str | None, gold: str) -> bool:
    if prediction is None:
        return False
    try:
        return Decimal(_clean(prediction)) == Decimal(_clean(gold))
    except InvalidOperation:
        return _clean(prediction) == _clean(gold)
