"""Saves the full training state every n steps and at the end (via the trainer's checkpoint manager)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import PRIORITY_CHECKPOINT, TrainerCallback, register_callback


@register_callback("checkpointer")
class Checkpointer(TrainerCallback):
    priority = PRIORITY_CHECKPOINT

    def __init__(self, every: int = 100, save_at_end: bool = True) -> None:
        self.every, self.save_at_end = max(every, 1), save_at_end
        self.last_saved = -1

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        if state.step % self.every == 0:
            self._save(state)

    def on_train_end(self, state: TrainerState) -> None:
        if self.save_at_end and self.last_saved != state.step and state.step > 0:
            self._save(state)

    def _save(self, state: Any) -> None:
        self.last_saved = state.step
        state.save_checkpoint()

    def state_dict(self) -> dict[str, Any]:
        return {"last_saved": self.last_saved}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.last_saved = int(state.get("last_saved", -1))
