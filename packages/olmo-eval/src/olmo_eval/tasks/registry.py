"""Tasks and suites registered by name.

A task class registers with ``@register_task("arc_easy", ...)``; its ``kind`` says which evaluator of
:data:`olmo_eval.runner.EVALUATORS` runs it (``"ranked_classification"`` or ``"generation"``). A suite
is a named list of task names; a name in a suite may itself be a suite. Importing ``olmo_eval.tasks``
(which any import of this module does first) imports every task family, so the registries are full
before anyone reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

#: task name -> factory returning a task object (has ``name``, ``kind`` and ``config_hash()``).
TASKS: dict[str, Callable[[], Any]] = {}
#: suite name -> task or suite names.
SUITES: dict[str, list[str]] = {}


def register_task(name: str, **kwargs: Any) -> Callable[[T], T]:
    """Register a task class (instantiated as ``cls(name=name, **kwargs)``) under ``name``."""

    def deco(cls: T) -> T:
        if name in TASKS:
            raise ValueError(f"task {name!r} is registered twice")
        TASKS[name] = lambda: cls(name=name, **kwargs)  # type: ignore[operator]
        return cls

    return deco


def register_suite(name: str, members: Iterable[str]) -> None:
    if name in SUITES or name in TASKS:
        raise ValueError(f"suite {name!r} clashes with a registered name")
    SUITES[name] = list(members)


def expand(names: str | Iterable[str]) -> list[str]:
    """Task names for a comma-separated list (or iterable) of task and suite names, in order, unique."""
    if isinstance(names, str):
        names = [n.strip() for n in names.split(",") if n.strip()]
    out: list[str] = []

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in SUITES:
            if name in trail:
                raise ValueError(f"suite {name!r} contains itself")
            for member in SUITES[name]:
                visit(member, (*trail, name))
        elif name in TASKS:
            if name not in out:
                out.append(name)
        else:
            known = ", ".join(sorted(SUITES)) or "none"
            raise KeyError(f"unknown task or suite {name!r} (suites: {known}; `olmo-eval list` shows tasks)")

    for n in names:
        visit(n, ())
    return out


def get_task(name: str, **overrides: Any) -> Any:
    """A fresh task object; ``overrides`` (e.g. ``num_shots=0``) replace config fields."""
    if name not in TASKS:
        raise KeyError(f"unknown task {name!r}; `olmo-eval list` shows the registered tasks")
    task = TASKS[name]()
    return task.with_overrides(**overrides) if overrides else task
