"""The loss curve as a PNG in the run folder at the end of training."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from olmo_core.fileio import atomic_path
from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import TrainerCallback, register_callback


def plot_loss(steps: list[int], losses: list[float], path: Path, title: str = "training loss") -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(steps, losses, lw=1.2)
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats / token)")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


@register_callback("loss_plot")
class LossPlot(TrainerCallback):
    def __init__(self, filename: str = "loss.png", key: str = "train/loss") -> None:
        self.filename, self.key = filename, key
        self.steps: list[int] = []
        self.losses: list[float] = []

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        v = metrics.get(self.key)
        if isinstance(v, int | float) and math.isfinite(v):
            self.steps.append(state.step)
            self.losses.append(float(v))

    def on_train_end(self, state: TrainerState) -> None:
        if state.is_main_process and self.steps:
            path = plot_loss(self.steps, self.losses, Path(state.run_dir) / self.filename)
            print(f"loss curve: {path}", flush=True)

    def state_dict(self) -> dict[str, Any]:
        return {"steps": list(self.steps), "losses": list(self.losses)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps, self.losses = list(state.get("steps", [])), list(state.get("losses", []))
