"""String reversal (``Reverse: h e l l o`` -> ``o l l e h``) and character counting
(``Count the letter a in: b a c a d`` -> ``2``), letters written apart (see ``tasks.surface``)."""

from __future__ import annotations

import random
import string
from dataclasses import dataclass

from open_instruct.tasks.registry import KnobError, Problem, TaskFamily, int_range, letters, register_family
from open_instruct.tasks.surface import spaced


@register_family("reversal")
class Reversal(TaskFamily):
    """A string of ``length`` characters drawn uniformly from ``alphabet``, to be written backwards."""

    verifier = "exact"
    grows_with = "length"

    @dataclass(frozen=True)
    class Knobs:
        length: int = 4  # calibrated: tiny SFT, 600 steps: 42% held-out at 4 letters (5 letters, 300 steps: 0%)
        alphabet: str = string.ascii_lowercase

    def check(self, knobs: Knobs) -> None:
        int_range(self.name, "length", knobs.length, 2, 64)
        letters(self.name, "alphabet", knobs.alphabet)

    def sample(self, rng: random.Random, knobs: Knobs) -> Problem:
        text = "".join(rng.choice(knobs.alphabet) for _ in range(knobs.length))
        answer = spaced(text[::-1])
        return Problem(text, f"Reverse: {spaced(text)}", answer, self.verifier, {"answer": answer})


@register_family("counting")
class Counting(TaskFamily):
    """How often one letter of ``alphabet`` occurs in a string of ``length`` letters. The count is drawn
    uniformly from 0..``max_count`` (default: ``length``) and the letter placed that many times, the
    other places filled from the rest of the alphabet, so no single count is a free majority answer
    (uniform letters would make most answers 0-2)."""

    verifier = "numeric"
    grows_with = "length"

    @dataclass(frozen=True)
    class Knobs:
        length: int = 8
        alphabet: str = "abcde"
        max_count: int = -1  # -1: length

    def check(self, knobs: Knobs) -> None:
        int_range(self.name, "length", knobs.length, 1, 64)
        letters(self.name, "alphabet", knobs.alphabet)
        if knobs.max_count != -1:
            int_range(self.name, "max_count", knobs.max_count, 1, knobs.length)
        if any(c.isdigit() for c in knobs.alphabet):
            # the numeric verifier reads the last number of the response: a digit alphabet would blur it
            raise KnobError(self.name, "alphabet", f"must hold no digits, got {knobs.alphabet!r}")

    def sample(self, rng: random.Random, knobs: Knobs) -> Problem:
        target = rng.choice(knobs.alphabet)
        count = rng.randint(0, knobs.length if knobs.max_count == -1 else knobs.max_count)
        others = knobs.alphabet.replace(target, "")
        chars = [target] * count + [rng.choice(others) for _ in range(knobs.length - count)]
        rng.shuffle(chars)
        text = "".join(chars)
        return Problem(f"{target}:{text}", f"Count the letter {target} in: {spaced(text)}", str(count),
                       self.verifier, {"answer": str(count)})
