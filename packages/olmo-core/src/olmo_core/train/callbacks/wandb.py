"""Weights & Biases logging, offline unless asked otherwise. The run id is part of the callback's state,
so it is stored in checkpoints and a resumed run continues the same W&B run."""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from typing import Any

from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import PRIORITY_LOGGER, TrainerCallback, numeric, register_callback


@register_callback("wandb")
class WandbCallback(TrainerCallback):
    priority = PRIORITY_LOGGER

    def __init__(self, project: str = "olmo-core", entity: str | None = None, name: str | None = None,
                 group: str | None = None, tags: list[str] | None = None, mode: str = "offline",
                 config: dict[str, Any] | None = None) -> None:
        self.project, self.entity, self.name, self.group = project, entity, name, group
        self.tags, self.mode, self.config = list(tags or []), mode, config
        self.run_id: str | None = None
        self.run: Any = None

    def on_train_start(self, state: TrainerState) -> None:
        if not state.is_main_process:
            return
        import wandb

        self.run_id = self.run_id or uuid.uuid4().hex[:12]
        mode = os.environ.get("WANDB_MODE", self.mode)
        self.run = wandb.init(project=self.project, entity=self.entity, name=self.name, group=self.group,
                              tags=self.tags, id=self.run_id, resume="allow", mode=mode, dir=str(state.run_dir),
                              config=self.config)

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        if self.run is not None:
            self.run.log(numeric(metrics), step=state.step)

    def on_train_end(self, state: TrainerState) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None

    def state_dict(self) -> dict[str, Any]:
        return {"run_id": self.run_id}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.run_id = state.get("run_id") or self.run_id
