"""Where a GRPO round's time goes, for both sides of ``grpo_step.py`` (standard library only: it runs in
TRL's pinned environment too, loaded by path). On with ``OLMO_BENCH_PROFILE=1``.

Each side wraps the functions of its trainer that do one phase (sampling, reward, reference
log-probs, the policy's forward and loss) with :meth:`Phases.wrap`; what is left of the round is the
backward pass, the optimizer step and the trainer's own loop. Wall and CPU seconds are both kept: on
a shared machine the CPU seconds of a phase move less with the load than its wall time."""

from __future__ import annotations

import functools
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

ENABLED = os.environ.get("OLMO_BENCH_PROFILE") == "1"


class Phases:
    def __init__(self, side: str) -> None:
        self.side = side
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.active = False  # phases nest (a loss inside a step): only the outermost one counts
        self.t0 = (0.0, 0.0)

    def wrap(self, name: str, fn: Callable[..., Any], when: Callable[..., bool] | None = None) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self.active or (when is not None and not when(*args, **kwargs)):
                return fn(*args, **kwargs)
            self.active = True
            w, c = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.wall[name] += time.perf_counter() - w
                self.cpu[name] += time.process_time() - c
                self.active = False
        return wrapper

    def start(self) -> None:
        self.wall.clear()
        self.cpu.clear()
        self.t0 = (time.perf_counter(), time.process_time())

    def report(self) -> dict[str, list[float]]:
        """``{phase: [wall s, cpu s]}``, the rest of the round as ``backward + optimizer + loop``; also
        printed as one line on stderr."""
        wall, cpu = time.perf_counter() - self.t0[0], time.process_time() - self.t0[1]
        out = {k: [self.wall[k], self.cpu[k]] for k in self.wall}
        out["backward + optimizer + loop"] = [wall - sum(self.wall.values()), cpu - sum(self.cpu.values())]
        print(f"{self.side} profile (share of CPU time): "
              + ", ".join(f"{k} {c:.2f}s cpu / {w:.2f}s wall ({c / cpu:.0%})" for k, (w, c) in out.items()),
              file=sys.stderr, flush=True)
        return out
