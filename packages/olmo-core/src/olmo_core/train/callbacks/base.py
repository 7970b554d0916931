"""The no-op callback and the registry that builds callbacks from config by name.

Callbacks run in ``priority`` order each step: plain ones (0) first, so that what they add with
``state.log`` reaches the loggers (100), then the checkpointer (200)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from olmo_core.interfaces import TrainerState

PRIORITY_DEFAULT = 0
PRIORITY_LOGGER = 100
PRIORITY_CHECKPOINT = 200


class TrainerCallback:
    """Implements :class:`olmo_core.interfaces.Callback` with no-ops; subclass and override."""

    priority: int = PRIORITY_DEFAULT

    def on_train_start(self, state: TrainerState) -> None:
        pass

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        pass

    def on_checkpoint(self, state: TrainerState, path: Path) -> None:
        pass

    def on_train_end(self, state: TrainerState) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        pass


CALLBACKS: dict[str, Callable[..., Any]] = {}


def register_callback(name: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        CALLBACKS[name] = cls
        return cls
    return wrap


def build_callback(name: str, **options: Any) -> Any:
    from olmo_core.plugins import lookup

    try:
        factory = lookup(CALLBACKS, name)  # a miss loads the plug-ins' callbacks (routing_metrics) first
    except KeyError:
        raise ValueError(f"trainer.callbacks: unknown callback {name!r}; registered: {sorted(CALLBACKS)}") from None
    try:
        return factory(**options)
    except TypeError as e:
        raise ValueError(f"trainer.callbacks.{name}: {e}") from e


def numeric(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numeric metrics (the batch digest and other strings left out)."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, int | float) and not isinstance(v, bool)}
