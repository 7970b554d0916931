"""Trainer callbacks. Importing this package registers the built-in ones in :data:`CALLBACKS`."""

from olmo_core.train.callbacks import (  # noqa: F401  (imported to register)
    checkpointer,
    console,
    evaluator,
    gc,
    hub_revisions,
    memory,
    metrics_jsonl,
    plot,
    speed,
    wandb,
)
from olmo_core.train.callbacks.base import CALLBACKS, TrainerCallback, build_callback, register_callback

__all__ = ["CALLBACKS", "TrainerCallback", "build_callback", "register_callback"]
