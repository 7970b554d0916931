"""Power-draw models for when no hardware counter can be read; their channels say "estimated".

CPU: ``cpu_watts_per_core`` x the CPU seconds of this process and of the children it waited for
(user + system, from ``getrusage``). That is codecarbon's ``process`` tracking mode (TDP x process
CPU load / logical cores), summed exactly instead of sampled; the default 4 W per core is codecarbon's
fallback for a CPU model it does not know. GPU: boards visible as ``/dev/nvidiaN`` that no library
could meter count at ``gpu_board_watts`` for the whole stage (full load: an upper bound)."""

from __future__ import annotations

import os
import re
import resource
import time
from pathlib import Path
from typing import Any

from olmo_stack.energy.channels import Channel, cpu_source, gpu_source


def process_cpu_seconds() -> float:
    """User + system seconds of this process and of its waited-for children (and theirs)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


class CpuTimeChannel(Channel):
    device, measured, scope = "cpu", False, "process"

    def __init__(self, watts_per_core: float) -> None:
        self.watts = watts_per_core
        self.name = f"{os.cpu_count()} logical cores"
        self.method = (f"estimated: {watts_per_core:g} W per core x CPU seconds of the process and its "
                       "children (codecarbon's process mode)")
        self._start = self._end = process_cpu_seconds()

    def poll(self) -> None:
        self._end = process_cpu_seconds()

    def cpu_seconds(self) -> float:
        return self._end - self._start

    def joules(self) -> float:
        return self.watts * self.cpu_seconds()


class BoardPowerChannel(Channel):
    device, measured, scope = "gpu", False, "machine"

    def __init__(self, dev: Path, watts: float) -> None:
        self.name, self.watts = dev.name, watts
        self.method = f"estimated: {watts:g} W board power x wall seconds (no NVML/AMD SMI to read)"
        self._start = self._end = time.monotonic()

    def poll(self) -> None:
        self._end = time.monotonic()

    def joules(self) -> float:
        return self.watts * (self._end - self._start)


@cpu_source("estimate")
def cpu_estimate(cfg: Any) -> list[Channel]:
    return [CpuTimeChannel(cfg.cpu_watts_per_core)]


@gpu_source("board-power")
def gpu_estimate(cfg: Any) -> list[Channel]:
    devs = sorted(p for p in Path(cfg.dev_root).glob("nvidia*") if re.fullmatch(r"nvidia\d+", p.name))
    return [BoardPowerChannel(d, cfg.gpu_board_watts) for d in devs]
