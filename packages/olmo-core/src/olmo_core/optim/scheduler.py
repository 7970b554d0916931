"""Learning-rate schedules as pure functions of the step, in a registry filled by a decorator, and
:class:`SchedulerConfig`, which builds the :class:`Scheduler` that applies one to an optimizer.

Every schedule returns a factor of the peak learning rate. ``final_anneal_steps`` adds OLMo's final
linear anneal to zero over the last steps on top of any schedule. A schedule has no state beyond
the step, so resuming only needs the step."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch


@dataclass
class SchedulerConfig:
    """``name`` of a registered schedule; linear warmup over ``warmup_steps`` from
    ``warmup_start_factor`` x the peak lr, then decay to ``alpha_f`` x at ``t_max`` (default: the run's
    ``max_steps``); ``final_anneal_steps`` anneals linearly to zero over the last steps. Defaults are
    OLMo-1B's schedule."""

    name: str = "linear_with_warmup"
    warmup_steps: int = 2000
    warmup_start_factor: float = 0.1
    alpha_f: float = 0.1
    t_max: int | None = None
    final_anneal_steps: int = 0

    def build(self, optimizer: torch.optim.Optimizer, max_steps: int) -> Scheduler:
        return Scheduler(optimizer, self, max_steps)


ScheduleFn = Callable[[int, SchedulerConfig, int], float]
SCHEDULERS: dict[str, ScheduleFn] = {}


def register_scheduler(name: str) -> Callable[[ScheduleFn], ScheduleFn]:
    def wrap(fn: ScheduleFn) -> ScheduleFn:
        SCHEDULERS[name] = fn
        return fn
    return wrap


def _warmup(step: int, cfg: SchedulerConfig) -> float | None:
    if cfg.warmup_steps > 0 and step < cfg.warmup_steps:
        return cfg.warmup_start_factor + (1.0 - cfg.warmup_start_factor) * step / cfg.warmup_steps
    return None


def _decay_fraction(step: int, cfg: SchedulerConfig, t_max: int) -> float:
    """How far ``step`` is from the end of warmup (0) to ``t_max`` (1)."""
    span = max(t_max - cfg.warmup_steps, 1)
    return min(max(step - cfg.warmup_steps, 0) / span, 1.0)


@register_scheduler("linear_with_warmup")
def linear_with_warmup(step: int, cfg: SchedulerConfig, t_max: int) -> float:
    """Linear warmup from ``warmup_start_factor`` to 1, then linear decay to ``alpha_f`` at ``t_max``."""
    w = _warmup(step, cfg)
    return w if w is not None else 1.0 - (1.0 - cfg.alpha_f) * _decay_fraction(step, cfg, t_max)


@register_scheduler("cosine_with_warmup")
def cosine_with_warmup(step: int, cfg: SchedulerConfig, t_max: int) -> float:
    w = _warmup(step, cfg)
    if w is not None:
        return w
    return cfg.alpha_f + (1.0 - cfg.alpha_f) * 0.5 * (1.0 + math.cos(math.pi * _decay_fraction(step, cfg, t_max)))


@register_scheduler("constant_with_warmup")
def constant_with_warmup(step: int, cfg: SchedulerConfig, t_max: int) -> float:
    w = _warmup(step, cfg)
    return 1.0 if w is None else w


@register_scheduler("constant")
def constant(step: int, cfg: SchedulerConfig, t_max: int) -> float:
    return 1.0


def lr_factor(step: int, cfg: SchedulerConfig, max_steps: int) -> float:
    """The factor of the peak lr at (0-based) ``step`` of a run of ``max_steps`` optimizer steps."""
    try:
        fn = SCHEDULERS[cfg.name]
    except KeyError:
        raise ValueError(f"optim.scheduler.name: unknown {cfg.name!r}; registered: {sorted(SCHEDULERS)}") from None
    t_max = cfg.t_max or max_steps
    factor = fn(step, cfg, t_max)
    if cfg.final_anneal_steps > 0:
        start = max_steps - cfg.final_anneal_steps
        if step >= start:
            # Anneal from wherever the schedule stood when the anneal began, down to zero at max_steps.
            base = fn(start, cfg, t_max)
            factor = base * max(max_steps - step, 0) / cfg.final_anneal_steps
    return factor


class Scheduler:
    """Sets every param group's ``lr`` for a step: its ``initial_lr`` (else the optimizer's peak
    ``lr``) times the schedule's factor. Built by :meth:`SchedulerConfig.build`."""

    def __init__(self, optimizer: torch.optim.Optimizer, cfg: SchedulerConfig, max_steps: int) -> None:
        self.optimizer, self.cfg, self.max_steps = optimizer, cfg, max_steps
        self.peak_lr = float(optimizer.defaults["lr"])

    def set_step(self, step: int) -> float:
        factor = lr_factor(step, self.cfg, self.max_steps)
        for group in self.optimizer.param_groups:
            group["lr"] = group.get("initial_lr", self.peak_lr) * factor
        return self.peak_lr * factor

    def state_dict(self) -> dict:
        return {"scheduler": self.cfg.name, "max_steps": self.max_steps}

    def load_state_dict(self, state: dict) -> None:
        # Schedules are pure functions of the step; a changed schedule on resume is allowed on purpose
        # (e.g. extending a run), so nothing here is restored.
        pass
