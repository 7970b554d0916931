"""The verifier registry: a verifier is a pure function ``(response, **args) -> Verdict`` filed under a name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["VERIFIERS", "Verdict", "register_verifier", "verify"]


@dataclass(frozen=True)
class Verdict:
    """What a verifier returns.

    ``score`` is 1.0/0.0 for binary checks and the fraction of constraints met for multi-constraint checks;
    ``reason`` says why a response failed, for logs (empty when it passed).
    """

    correct: bool
    score: float
    reason: str = ""

    @classmethod
    def passed(cls) -> Verdict:
        return cls(True, 1.0)

    @classmethod
    def failed(cls, reason: str) -> Verdict:
        return cls(False, 0.0, reason)


VERIFIERS: dict[str, Callable[..., Verdict]] = {}


def register_verifier(name: str) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Decorator filing a verifier under ``name``; a name can be filed once."""

    def decorator(fn: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if name in VERIFIERS and VERIFIERS[name] is not fn:
            raise ValueError(f"verifier {name!r} is already registered ({VERIFIERS[name].__module__})")
        VERIFIERS[name] = fn
        return fn

    return decorator


def verify(name: str, response: str, **args) -> Verdict:
    """Run the verifier ``name`` on ``response``; an unknown name is a KeyError naming the known ones."""
    try:
        fn = VERIFIERS[name]
    except KeyError:
        raise KeyError(f"unknown verifier {name!r}; known: {', '.join(sorted(VERIFIERS))}") from None
    return fn(response, **args)
