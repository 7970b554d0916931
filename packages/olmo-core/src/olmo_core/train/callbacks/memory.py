"""Peak memory: the accelerator's allocator when there is one, else the process's peak RSS."""

from __future__ import annotations

import resource
import sys
from collections.abc import Mapping

import torch

from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import TrainerCallback, register_callback


def peak_memory_gib() -> dict[str, float]:
    if torch.cuda.is_available():
        return {"memory/peak_allocated_gib": torch.cuda.max_memory_allocated() / 2**30,
                "memory/peak_reserved_gib": torch.cuda.max_memory_reserved() / 2**30}
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"memory/peak_rss_gib": rss / (2**30 if sys.platform == "darwin" else 2**20)}


@register_callback("memory")
class MemoryMonitor(TrainerCallback):
    def __init__(self, every: int = 1) -> None:
        self.every = max(every, 1)

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        if state.step % self.every == 0:
            state.log(peak_memory_gib())
