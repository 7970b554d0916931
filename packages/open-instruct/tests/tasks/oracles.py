"""Independent answers for task prompts: each computed from the prompt text alone with plain Python
(``eval``, ``sorted``, slicing, ``str.count``, a unit table in base units), never through the
generators' code."""

from __future__ import annotations

import json
import re
from fractions import Fraction

#: every unit in its base unit (metre, gram, litre, second)
BASE = {"km": 1000, "m": 1, "cm": Fraction(1, 100), "mm": Fraction(1, 1000),
        "t": 1_000_000, "kg": 1000, "g": 1, "mg": Fraction(1, 1000),
        "kL": 1000, "L": 1, "mL": Fraction(1, 1000),
        "week": 7 * 24 * 3600, "day": 24 * 3600, "h": 3600, "min": 60, "s": 1}


def digits_apart(n: int | str) -> str:
    return " ".join(str(n))


def arithmetic(prompt: str) -> str:
    m = re.fullmatch(r"What is ([\d ]+) ([-+*]) ([\d ]+)\?", prompt)
    a, op, b = m.group(1).replace(" ", ""), m.group(2), m.group(3).replace(" ", "")
    return digits_apart(eval(f"{int(a)} {op} {int(b)}"))  # noqa: S307 (digits and one operator, matched above)


def sorting(prompt: str) -> str:
    values = prompt.removeprefix("Sort ascending: ").split()
    return " ".join(str(v) for v in sorted(int(v) for v in values))


def reversal(prompt: str) -> str:
    return digits_apart("".join(prompt.removeprefix("Reverse: ").split())[::-1])


def counting(prompt: str) -> str:
    m = re.fullmatch(r"Count the letter (\S) in: (.*)", prompt)
    return str(m.group(2).replace(" ", "").count(m.group(1)))


def units(prompt: str) -> str:
    m = re.fullmatch(r"Convert ([\d ]+) (\S+) to (\S+)\.", prompt)
    value = Fraction(int(m.group(1).replace(" ", ""))) * BASE[m.group(2)] / BASE[m.group(3)]
    assert value.denominator == 1, prompt
    return digits_apart(value.numerator)


ORACLES = {"arithmetic": arithmetic, "sorting": sorting, "reversal": reversal, "counting": counting,
           "units": units}


def formatting_holds(prompt: str, response: str) -> bool:
    """What the formatting prompt asks, checked directly (not through the ifeval verifier)."""
    instruction, words = prompt.split(": ", 1)
    words = words.split(", ")
    if not all(w.casefold() in response.casefold() for w in words):
        return False
    if instruction == "List as bullet points":
        return sum(1 for line in response.splitlines() if re.match(r"\s*\*[^*]", line)) == len(words)
    if instruction == "Write in capital letters":
        return response == response.upper() and any(c.isalpha() for c in response)
    if instruction == "Write as a JSON list":
        try:
            json.loads(response)
        except ValueError:
            return False
        return True
    raise AssertionError(f"unknown formatting instruction {instruction!r}")
