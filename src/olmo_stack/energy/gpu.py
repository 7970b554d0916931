"""GPU energy from the vendors' management libraries, when they can be imported: NVML
(``nvidia-ml-py``'s ``pynvml``) for NVIDIA, AMD SMI (``amdsmi``, ROCm 6+) for AMD. Neither is a
dependency: they come with the GPU stacks that need them. Both counters cover the whole board (every
process using it)."""

from __future__ import annotations

import importlib
import time
from typing import Any

from olmo_stack.energy.channels import Channel, gpu_source


def _import(name: str) -> Any:
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - a missing or broken vendor library just means no channel
        return None


class NvmlEnergyChannel(Channel):
    """``nvmlDeviceGetTotalEnergyConsumption``: millijoules since the driver loaded (Volta and newer)."""

    device, measured, scope = "gpu", True, "machine"

    def __init__(self, nvml: Any, index: int, handle: Any) -> None:
        self.nvml, self.handle = nvml, handle
        self.name = f"gpu{index} {_text(nvml.nvmlDeviceGetName(handle))}"
        self.method = "NVML total energy counter (nvmlDeviceGetTotalEnergyConsumption), whole board"
        self._start = self._last = nvml.nvmlDeviceGetTotalEnergyConsumption(handle)

    def poll(self) -> None:
        self._last = self.nvml.nvmlDeviceGetTotalEnergyConsumption(self.handle)

    def joules(self) -> float:
        return (self._last - self._start) / 1e3


class NvmlPowerChannel(Channel):
    """Boards without the energy counter: ``nvmlDeviceGetPowerUsage`` (milliwatts) integrated over
    the polls (trapezoids), so an estimate of the energy between polls."""

    device, measured, scope, polled = "gpu", False, "machine", True

    def __init__(self, nvml: Any, index: int, handle: Any) -> None:
        self.nvml, self.handle = nvml, handle
        self.name = f"gpu{index} {_text(nvml.nvmlDeviceGetName(handle))}"
        self.method = "estimated: NVML board power (nvmlDeviceGetPowerUsage) integrated over polls"
        self._t, self._w = time.monotonic(), nvml.nvmlDeviceGetPowerUsage(handle) / 1e3
        self._j = 0.0

    def poll(self) -> None:
        t, w = time.monotonic(), self.nvml.nvmlDeviceGetPowerUsage(self.handle) / 1e3
        self._j += (t - self._t) * (w + self._w) / 2
        self._t, self._w = t, w

    def joules(self) -> float:
        return self._j


def _text(name: Any) -> str:
    return name.decode() if isinstance(name, bytes) else str(name)


@gpu_source("nvml")
def nvml_channels(cfg: Any) -> list[Channel]:
    nvml = _import("pynvml")
    if nvml is None:
        return []
    try:
        nvml.nvmlInit()
        channels: list[Channel] = []
        for i in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(i)
            try:
                channels.append(NvmlEnergyChannel(nvml, i, handle))
            except nvml.NVMLError:  # pre-Volta: no energy counter
                channels.append(NvmlPowerChannel(nvml, i, handle))
        return channels
    except Exception:  # noqa: BLE001 - no driver, no device: the estimate takes over
        return []


class AmdSmiChannel(Channel):
    """``amdsmi_get_energy_count``: an accumulator in units of ``counter_resolution`` microjoules
    (the key is ``energy_accumulator`` in ROCm 6.4+, ``power`` before)."""

    device, measured, scope, polled = "gpu", True, "machine", True

    def __init__(self, smi: Any, index: int, handle: Any) -> None:
        self.smi, self.handle = smi, handle
        self.name = f"gpu{index} (AMD)"
        self.method = "ROCm AMD SMI energy counter (amdsmi_get_energy_count), whole board"
        self._start = self._last = self._read()

    def _read(self) -> float:
        e = self.smi.amdsmi_get_energy_count(self.handle)
        acc = e["energy_accumulator"] if "energy_accumulator" in e else e["power"]
        return float(acc) * float(e["counter_resolution"])  # microjoules

    def poll(self) -> None:
        self._last = self._read()

    def joules(self) -> float:
        return (self._last - self._start) / 1e6


@gpu_source("amdsmi")
def amdsmi_channels(cfg: Any) -> list[Channel]:
    smi = _import("amdsmi")
    if smi is None:
        return []
    try:
        smi.amdsmi_init()
        return [AmdSmiChannel(smi, i, h) for i, h in enumerate(smi.amdsmi_get_processor_handles())]
    except Exception:  # noqa: BLE001
        return []
