"""Step lines on the console of the main process."""

from __future__ import annotations

from collections.abc import Mapping

from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import PRIORITY_LOGGER, TrainerCallback, register_callback

SHOWN = (("train/loss", "loss", "{:.4f}"), ("optim/lr", "lr", "{:.3e}"), ("optim/grad_norm", "gnorm", "{:.3f}"),
         ("throughput/tokens_per_sec", "tok/s", "{:,.0f}"), ("throughput/mfu", "mfu", "{:.2%}"))


@register_callback("console")
class ConsoleLogger(TrainerCallback):
    priority = PRIORITY_LOGGER

    def __init__(self, every: int = 1) -> None:
        self.every = max(every, 1)

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        if not state.is_main_process or state.step % self.every:
            return
        parts = [f"step {state.step}"]
        for key, label, fmt in SHOWN:
            if isinstance(metrics.get(key), int | float):
                parts.append(f"{label} {fmt.format(metrics[key])}")
        if metrics.get("train/skipped_step"):
            parts.append(f"SKIPPED ({metrics.get('train/anomaly', '')})")
        print(" | ".join(parts), flush=True)

    def on_train_end(self, state: TrainerState) -> None:
        if state.is_main_process:
            print(f"training finished at step {state.step} after {state.tokens_seen:,} tokens; run dir "
                  f"{state.run_dir}", flush=True)
