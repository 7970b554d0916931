"""Loss-spike and non-finite detection: decide per step whether to take, skip or stop."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass


class TrainingDivergedError(RuntimeError):
    """Raised when the loss went non-finite or spiked and the configured action is ``stop``."""


@dataclass
class SpikeConfig:
    """``action``: what to do with a non-finite or spiking step: ``skip`` (no optimizer update),
    ``stop`` (raise :class:`TrainingDivergedError`) or ``log`` (only record it). A spike is a loss more
    than ``threshold`` standard deviations above the mean of the last ``window`` taken steps (checked
    once the window is full). ``max_consecutive_skips`` stops a run that keeps skipping."""

    action: str = "skip"
    window: int = 50
    threshold: float = 6.0
    max_consecutive_skips: int = 10


class SpikeDetector:
    def __init__(self, cfg: SpikeConfig) -> None:
        if cfg.action not in ("skip", "stop", "log"):
            raise ValueError(f"trainer.spike.action: {cfg.action!r} is not one of skip, stop, log")
        self.cfg = cfg
        self.history: deque[float] = deque(maxlen=cfg.window)
        self.consecutive_skips = 0
        self.total_skips = 0

    def classify(self, loss: float, grad_norm: float) -> str | None:
        """``None`` for a normal step, else why it is abnormal."""
        if not math.isfinite(loss):
            return f"non-finite loss {loss}"
        if not math.isfinite(grad_norm):
            return f"non-finite gradient norm {grad_norm}"
        if len(self.history) == self.cfg.window and self.cfg.window > 1:
            mean = sum(self.history) / len(self.history)
            std = math.sqrt(sum((x - mean) ** 2 for x in self.history) / (len(self.history) - 1))
            if loss > mean + self.cfg.threshold * max(std, 1e-8):
                return f"loss spike {loss:.4f} > mean {mean:.4f} + {self.cfg.threshold} x std {std:.4f}"
        return None

    def decide(self, step: int, loss: float, grad_norm: float) -> tuple[bool, str | None]:
        """Returns (take the optimizer step?, reason if abnormal). Raises on ``stop``."""
        reason = self.classify(loss, grad_norm)
        if reason is None:
            self.history.append(loss)
            self.consecutive_skips = 0
            return True, None
        if self.cfg.action == "stop":
            raise TrainingDivergedError(f"step {step}: {reason}; stopping (trainer.spike.action=stop). Resume "
                                        "from the last checkpoint with a lower lr or trainer.spike.action=skip.")
        if self.cfg.action == "log":
            if math.isfinite(loss):
                self.history.append(loss)
            return True, reason
        self.consecutive_skips += 1
        self.total_skips += 1
        if self.consecutive_skips > self.cfg.max_consecutive_skips:
            raise TrainingDivergedError(f"step {step}: {reason}; {self.consecutive_skips} steps skipped in a row "
                                        f"(more than trainer.spike.max_consecutive_skips="
                                        f"{self.cfg.max_consecutive_skips}), stopping")
        return False, reason

    def state_dict(self) -> dict:
        return {"history": list(self.history), "consecutive_skips": self.consecutive_skips,
                "total_skips": self.total_skips}

    def load_state_dict(self, state: dict) -> None:
        self.history = deque(state.get("history", []), maxlen=self.cfg.window)
        self.consecutive_skips = int(state.get("consecutive_skips", 0))
        self.total_skips = int(state.get("total_skips", 0))
