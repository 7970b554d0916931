"""Unit conversion: ``Convert 3 km to m.`` -> ``3 0 0 0`` and back (``Convert 3 0 0 0 m to km.`` -> ``3``)."""

from __future__ import annotations

import random
from dataclasses import dataclass

from open_instruct.tasks.registry import KnobError, Problem, TaskFamily, int_range, register_family
from open_instruct.tasks.surface import spaced

#: unit groups: (larger unit, smaller unit, how many smaller units make one larger)
UNIT_GROUPS: dict[str, tuple[tuple[str, str, int], ...]] = {
    "length": (("km", "m", 1000), ("m", "cm", 100), ("cm", "mm", 10), ("m", "mm", 1000)),
    "mass": (("kg", "g", 1000), ("g", "mg", 1000), ("t", "kg", 1000)),
    "volume": (("L", "mL", 1000), ("kL", "L", 1000)),
    "time": (("h", "min", 60), ("min", "s", 60), ("day", "h", 24), ("week", "day", 7)),
}


@register_family("units")
class Units(TaskFamily):
    """``units``: comma-separated groups of ``UNIT_GROUPS``; metric groups multiply by powers of ten
    (appending or dropping zeros), ``time`` by 60, 24 and 7 (real multiplication). ``digits``: digits
    of the quantity in the larger unit. Both directions are drawn; the smaller-to-larger direction
    starts from a whole number of larger units, so every answer is a whole number."""

    verifier = "exact"
    grows_with = "digits"

    @dataclass(frozen=True)
    class Knobs:
        units: str = "length,mass,volume"
        digits: int = 3  # two digits leave 1,782 problems in the default groups, one 162: too few to split

    def check(self, knobs: Knobs) -> None:
        groups = knobs.units.split(",")
        unknown = [g for g in groups if g not in UNIT_GROUPS]
        if not knobs.units or unknown or len(set(groups)) != len(groups):
            raise KnobError(self.name, "units", f"must be distinct comma-separated groups of "
                            f"{', '.join(UNIT_GROUPS)}, got {knobs.units!r}")
        int_range(self.name, "digits", knobs.digits, 1, 9)

    def sample(self, rng: random.Random, knobs: Knobs) -> Problem:
        pairs = [p for g in knobs.units.split(",") for p in UNIT_GROUPS[g]]
        big, small, factor = rng.choice(pairs)
        amount = rng.randint(1, 10 ** knobs.digits - 1)
        if rng.random() < 0.5:
            value, src, dst, result = amount, big, small, amount * factor
        else:
            value, src, dst, result = amount * factor, small, big, amount
        answer = spaced(result)
        return Problem(f"{value}{src}>{dst}", f"Convert {spaced(value)} {src} to {dst}.", answer,
                       self.verifier, {"answer": answer})
