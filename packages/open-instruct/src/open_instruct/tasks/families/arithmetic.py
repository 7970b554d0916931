"""Multi-digit arithmetic: ``What is 4 7 + 3 8?`` -> ``8 5`` (digits written apart: see ``tasks.surface``)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from open_instruct.tasks.registry import KnobError, Problem, TaskFamily, int_range, register_family
from open_instruct.tasks.surface import spaced

_OPS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}


def _operand(rng: random.Random, digits: int) -> int:
    """A number of exactly ``digits`` digits (0-9 for one digit)."""
    return rng.randint(0 if digits == 1 else 10 ** (digits - 1), 10 ** digits - 1)


@register_family("arithmetic")
class Arithmetic(TaskFamily):
    """``digits``: digits of each operand of + and -, and of the first factor of *; ``mul_digits``:
    digits of the second factor (long multiplication is far harder than addition for a small model);
    ``ops``: which operations to draw from, uniformly. Subtraction puts the larger operand first, so
    every answer is a non-negative digit string."""

    verifier = "exact"
    grows_with = "digits"

    @dataclass(frozen=True)
    class Knobs:
        digits: int = 2
        mul_digits: int = 1
        ops: str = "+-*"

    def check(self, knobs: Knobs) -> None:
        int_range(self.name, "digits", knobs.digits, 1, 12)
        int_range(self.name, "mul_digits", knobs.mul_digits, 1, knobs.digits)
        if not knobs.ops or set(knobs.ops) - set(_OPS) or len(set(knobs.ops)) != len(knobs.ops):
            raise KnobError(self.name, "ops", f"must be distinct characters of {''.join(_OPS)!r}, got {knobs.ops!r}")

    def sample(self, rng: random.Random, knobs: Knobs) -> Problem:
        op = rng.choice(knobs.ops)
        a = _operand(rng, knobs.digits)
        b = _operand(rng, knobs.mul_digits if op == "*" else knobs.digits)
        if op == "-" and b > a:
            a, b = b, a
        # + and * commute: 3 + 5 and 5 + 3 are one problem (same key, same split)
        key = f"{min(a, b)}{op}{max(a, b)}" if op in "+*" else f"{a}{op}{b}"
        answer = spaced(_OPS[op](a, b))
        return Problem(key, f"What is {spaced(a)} {op} {spaced(b)}?", answer, self.verifier, {"answer": answer})
