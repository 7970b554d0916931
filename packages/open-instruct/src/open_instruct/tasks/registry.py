"""The task-family registry: a family draws one problem from a seeded RNG under typed difficulty knobs.

A family is a class registered with ``@register_family("name")``; it names its knobs as a frozen
dataclass (``Knobs``, one default per knob, validated in ``check``) and implements ``sample``.
Everything else (splits, ids, records, files) is the same for every family and lives in
``open_instruct.tasks.generate`` / ``.suite``.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["FAMILIES", "KnobError", "Problem", "TaskFamily", "get_family", "register_family"]


class KnobError(ValueError):
    """A bad difficulty knob; the message names the family and the knob."""

    def __init__(self, family: str, knob: str, message: str) -> None:
        self.family, self.knob = family, knob
        super().__init__(f"task family {family!r}, knob {knob!r}: {message}")


@dataclass(frozen=True)
class Problem:
    """One drawn problem. ``key`` is its canonical content: it alone decides the split and the id,
    so two draws that are the same problem (e.g. ``3 + 5`` and ``5 + 3``) always land together."""

    key: str
    prompt: str
    answer: str
    verifier: str
    args: dict[str, Any]


class TaskFamily:
    name: ClassVar[str] = ""
    version: ClassVar[int] = 1
    verifier: ClassVar[str] = ""
    #: the knobs' dataclass (frozen, a default for each)
    Knobs: ClassVar[type]
    #: the knob to raise when a split runs out of distinct problems
    grows_with: ClassVar[str] = ""

    @property
    def generator(self) -> str:
        return f"{self.name}/v{self.version}"

    def knobs(self, **difficulty: Any) -> Any:
        """The typed knobs from keyword values; an unknown knob or a bad value is a ``KnobError``."""
        known = [f.name for f in dataclasses.fields(self.Knobs)]
        for k in difficulty:
            if k not in known:
                raise KnobError(self.name, k, f"unknown knob; known: {', '.join(known)}")
        knobs = self.Knobs(**difficulty)
        for f in dataclasses.fields(knobs):
            value, default = getattr(knobs, f.name), f.default
            # a knob has the type of its default (bool is not an int here: digits=True is a mistake)
            if type(value) is not type(default):
                raise KnobError(self.name, f.name, f"must be {type(default).__name__}, got {value!r}")
        self.check(knobs)
        return knobs

    def check(self, knobs: Any) -> None:
        """Raise ``KnobError`` for values outside the family's range."""

    def sample(self, rng: random.Random, knobs: Any) -> Problem:
        raise NotImplementedError


FAMILIES: dict[str, TaskFamily] = {}


def register_family(name: str) -> Callable[[type[TaskFamily]], type[TaskFamily]]:
    """File a family class under ``name`` (one instance; a name can be filed once)."""

    def wrap(cls: type[TaskFamily]) -> type[TaskFamily]:
        if name in FAMILIES and type(FAMILIES[name]) is not cls:
            raise ValueError(f"task family {name!r} is already registered ({type(FAMILIES[name]).__module__})")
        cls.name = name
        FAMILIES[name] = cls()
        return cls

    return wrap


def get_family(name: str) -> TaskFamily:
    if name not in FAMILIES:
        raise KeyError(f"unknown task family {name!r}; known: {', '.join(sorted(FAMILIES))}")
    return FAMILIES[name]


def int_range(family: str, knob: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise KnobError(family, knob, f"must be in {low}..{high}, got {value}")


def letters(family: str, knob: str, alphabet: str, *, at_least: int = 2) -> None:
    """An alphabet of distinct, printable, non-space characters that stay distinct under casefold
    (the ``exact`` verifier casefolds, so ``aA`` could not be told apart)."""
    folded = alphabet.casefold()
    if len(alphabet) < at_least or len(set(folded)) != len(alphabet) or len(folded) != len(alphabet):
        raise KnobError(family, knob, f"needs at least {at_least} distinct characters (distinct ignoring case), "
                        f"got {alphabet!r}")
    if any(c.isspace() or not c.isprintable() for c in alphabet):
        raise KnobError(family, knob, f"characters must be printable and not spaces, got {alphabet!r}")
