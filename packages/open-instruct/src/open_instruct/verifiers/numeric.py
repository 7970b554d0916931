"""GSM8K-style final-answer match: the number after the last ``####``, else the last number in the response."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from open_instruct.verifiers.registry import Verdict, register_verifier

# A number as models write it: optional sign and dollar sign, digits with thousands commas, optional decimals.
_NUMBER = re.compile(r"[-+]?\$?(?:\d[\d,]*(?:\.\d+)?|\.\d+)")
_TOLERANCE = Decimal("1e-6")


def _to_decimal(token: str) -> Decimal | None:
    cleaned = token.replace(",", "").replace("$", "").rstrip(".")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def extract_final_number(text: str) -> Decimal | None:
    """The final answer of ``text``: the first number after the last ``####`` if there is one, else the last number."""
    if "####" in text:
        match = _NUMBER.search(text.rsplit("####", 1)[1])
        return _to_decimal(match.group()) if match else None
    matches = _NUMBER.findall(text)
    return _to_decimal(matches[-1]) if matches else None


def _gold(answer: str | float | int) -> Decimal:
    if isinstance(answer, bool) or not isinstance(answer, (str, int, float)):
        raise TypeError(f"numeric verifier: answer must be a str or a number, got {type(answer).__name__}")
    value = _to_decimal(str(answer)) if not isinstance(answer, str) else extract_final_number(answer)
    if value is None:
        raise ValueError(f"numeric verifier: answer {answer!r} holds no number")
    return value


@register_verifier("numeric")
def numeric(response: str, *, answer: str | float | int) -> Verdict:
    """Correct iff the response's final number equals ``answer`` within 1e-6."""
    gold = _gold(answer)
    got = extract_final_number(response)
    if got is None:
        return Verdict.failed("no number in the response")
    if abs(got - gold) <= _TOLERANCE:
        return Verdict.passed()
    return Verdict.failed(f"final number {got} != {gold}")
