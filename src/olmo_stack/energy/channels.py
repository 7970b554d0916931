"""What the meter reads: channels (one energy counter or power model each) and the registries of the
sources that find them.

A source is a function ``EnergyConfig -> list[Channel]`` registered with ``@cpu_source(name)`` or
``@gpu_source(name)``; the meter asks the sources of each kind in registration order and keeps the
channels of the first that finds any, so a hardware counter (RAPL, NVML, ROCm SMI) wins over the power
model registered after it (:mod:`olmo_stack.energy.estimate`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class Channel:
    """Energy of one device since the channel was created. ``poll`` is called every few seconds by the
    meter (so counters that wrap, or power readings, are integrated) and once more at the end."""

    device: str = "cpu"  # cpu, dram or gpu
    name: str = ""
    method: str = ""
    measured: bool = False
    #: "machine": the counter sees every process on the device; "process": only this process tree
    scope: str = "process"
    #: whether readings between start and end matter (a counter that wraps, power to integrate); the
    #: meter's polling thread runs only when some channel says so
    polled: bool = False

    def poll(self) -> None:
        pass

    def joules(self) -> float:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def record(self) -> dict[str, Any]:
        return {"device": self.device, "name": self.name, "joules": round(self.joules(), 6),
                "measured": self.measured, "method": self.method, "scope": self.scope}


Source = Callable[[Any], list[Channel]]
CPU_SOURCES: dict[str, Source] = {}
GPU_SOURCES: dict[str, Source] = {}


def _register(table: dict[str, Source], name: str) -> Callable[[Source], Source]:
    def deco(fn: Source) -> Source:
        if name in table:
            raise ValueError(f"energy source {name!r} is already registered")
        table[name] = fn
        return fn

    return deco


def cpu_source(name: str) -> Callable[[Source], Source]:
    return _register(CPU_SOURCES, name)


def gpu_source(name: str) -> Callable[[Source], Source]:
    return _register(GPU_SOURCES, name)
