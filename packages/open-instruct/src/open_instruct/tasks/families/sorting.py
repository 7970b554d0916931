"""Sorting: ``Sort ascending: 5 2 9 1 7`` -> ``1 2 5 7 9``."""

from __future__ import annotations

import random
from dataclasses import dataclass

from open_instruct.tasks.registry import KnobError, Problem, TaskFamily, int_range, register_family


@register_family("sorting")
class Sorting(TaskFamily):
    """``length`` numbers drawn uniformly (with repeats) from ``low..high``. Each number is one token
    of the OLMo tokenizer (`` 7``, `` 42``), so the default 0..9 sorts ten symbols; a wider range
    makes the model learn the order of more tokens. The key is the multiset, so a held-out list is
    never a permutation of a training list."""

    verifier = "exact"
    grows_with = "length"

    @dataclass(frozen=True)
    class Knobs:
        length: int = 6  # 5 digits of 0..9 make 2,002 multisets: too few for 1,600 training problems
        low: int = 0
        high: int = 9

    def check(self, knobs: Knobs) -> None:
        int_range(self.name, "length", knobs.length, 2, 64)
        int_range(self.name, "low", knobs.low, 0, 998)
        if not knobs.low < knobs.high <= 999:
            raise KnobError(self.name, "high", f"must be in {knobs.low + 1}..999 (above low), got {knobs.high}")

    def sample(self, rng: random.Random, knobs: Knobs) -> Problem:
        values = [rng.randint(knobs.low, knobs.high) for _ in range(knobs.length)]
        ordered = sorted(values)
        answer = " ".join(map(str, ordered))
        return Problem(",".join(map(str, ordered)), "Sort ascending: " + " ".join(map(str, values)),
                       answer, self.verifier, {"answer": answer})
