"""The IFEval constraint registry: a checker is ``(response, **kwargs) -> bool`` filed under an IFEval
instruction id (``"length_constraints:number_words"``); the part after the colon (``"number_words"``) names it too.

Constraint kwargs are IFEval's own (``num_words``, ``relation``, ``keywords``, ...), so a row of the IFEval data
set (``instruction_id_list`` + ``kwargs``) maps onto constraints one to one.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

__all__ = ["CONSTRAINTS", "ConstraintError", "check_constraint", "register_constraint", "resolve"]

Checker = Callable[..., bool]
CONSTRAINTS: dict[str, Checker] = {}
_SHORT: dict[str, str] = {}

#: IFEval's two comparison relations
LESS_THAN, AT_LEAST = "less than", "at least"


class ConstraintError(ValueError):
    """A constraint that cannot be checked as written (unknown type, missing or unknown kwargs)."""


def register_constraint(instruction_id: str) -> Callable[[Checker], Checker]:
    """Decorator filing a checker under an IFEval instruction id (``group:name``)."""
    group, _, short = instruction_id.partition(":")
    if not group or not short:
        raise ValueError(f"constraint id {instruction_id!r} must read 'group:name' as IFEval's do")

    def decorator(fn: Checker) -> Checker:
        if instruction_id in CONSTRAINTS or short in _SHORT:
            raise ValueError(f"constraint {instruction_id!r} is already registered")
        CONSTRAINTS[instruction_id] = fn
        _SHORT[short] = instruction_id
        return fn

    return decorator


def resolve(name: str) -> str:
    """The full instruction id of ``name`` (a full id or the part after its colon)."""
    if name in CONSTRAINTS:
        return name
    if name in _SHORT:
        return _SHORT[name]
    raise ConstraintError(f"unknown constraint type {name!r}; known: {', '.join(sorted(CONSTRAINTS))}")


def compare(count: int, relation: str, threshold: int) -> bool:
    """IFEval's comparison: ``less than`` is strict, ``at least`` is inclusive."""
    if relation == LESS_THAN:
        return count < threshold
    if relation == AT_LEAST:
        return count >= threshold
    raise ConstraintError(f"relation must be {LESS_THAN!r} or {AT_LEAST!r}, got {relation!r}")


def check_constraint(response: str, constraint: dict) -> bool:
    """Whether ``response`` meets ``constraint`` (``{"type": id, **kwargs}``; kwargs that are None are unset,
    as in the IFEval data set). Bad constraints raise :class:`ConstraintError` naming the field."""
    if not isinstance(constraint, dict) or "type" not in constraint:
        raise ConstraintError(f"a constraint is a dict with a 'type' key, got {constraint!r}")
    instruction_id = resolve(constraint["type"])
    fn = CONSTRAINTS[instruction_id]
    kwargs = {k: v for k, v in constraint.items() if k != "type" and v is not None}
    try:
        inspect.signature(fn).bind(response, **kwargs)
    except TypeError as exc:
        params = [p for p in inspect.signature(fn).parameters if p != "response"]
        raise ConstraintError(f"constraint {instruction_id!r}: {exc} (its kwargs: {', '.join(params) or 'none'})"
                              ) from None
    return bool(fn(response, **kwargs))
