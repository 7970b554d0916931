"""Python's garbage collector off during steps and run every n steps, on all ranks at once, so no
rank stalls the others at a random moment."""

from __future__ import annotations

import gc
from collections.abc import Mapping

from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import TrainerCallback, register_callback


@register_callback("gc")
class GarbageCollector(TrainerCallback):
    def __init__(self, every: int = 50) -> None:
        self.every = max(every, 1)
        self._was_enabled = True

    def on_train_start(self, state: TrainerState) -> None:
        self._was_enabled = gc.isenabled()
        gc.disable()
        gc.collect(1)

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        if state.step % self.every == 0:
            gc.collect(1)

    def on_train_end(self, state: TrainerState) -> None:
        if self._was_enabled:
            gc.enable()
