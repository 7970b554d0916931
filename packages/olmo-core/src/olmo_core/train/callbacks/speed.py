"""Throughput and model FLOPs utilization.

MFU = achieved training FLOPs / peak dense bf16 FLOPs of the device. Peaks are per visible device:
one MI250X *GCD* (what ROCm exposes as a device) is half a package, 191.5 TFLOPS. A device not in
the table (including the CPU) gets no MFU: it is reported as unknown, never guessed."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import torch

from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import TrainerCallback, register_callback

#: Dense bf16 peak FLOP/s per device, matched by substring of the device name (first match wins).
PEAK_FLOPS: dict[str, float] = {
    "H200": 989e12,
    "H100": 989e12,
    "A100": 312e12,
    "MI300X": 1307.4e12,
    "MI250X": 191.5e12,
    "MI250": 181e12,
    "A10G": 125e12,
    "L40S": 362e12,
}


def device_name(device: torch.device | None = None) -> str:
    if torch.cuda.is_available() and (device is None or device.type == "cuda"):
        return torch.cuda.get_device_name(device)
    return "cpu"


def peak_flops(name: str) -> float | None:
    upper = name.upper()
    for key, value in PEAK_FLOPS.items():
        if key in upper:
            return value
    return None


def mfu(tokens_per_sec_per_device: float, flops_per_token: float, peak: float | None) -> float | None:
    return None if peak is None else tokens_per_sec_per_device * flops_per_token / peak


@register_callback("speed")
class SpeedMonitor(TrainerCallback):
    """Logs ``throughput/tokens_per_sec`` (all ranks), ``throughput/tokens_per_sec_per_device`` and
    ``throughput/mfu`` (only for known devices; ``throughput/mfu_known`` says which)."""

    def __init__(self, seq_len: int | None = None) -> None:
        self.seq_len = seq_len
        self._t: float | None = None
        self._tokens = 0
        self.peak: float | None = None
        self.name = "cpu"
        self.flops_per_token: float | None = None

    def on_train_start(self, state: TrainerState) -> None:
        self._t, self._tokens = time.perf_counter(), state.tokens_seen
        try:
            device = next(state.model.parameters()).device
        except StopIteration:
            device = None
        self.name = device_name(device)
        self.peak = peak_flops(self.name)
        fpt = getattr(getattr(state.model, "module", state.model), "flops_per_token", None)
        self.flops_per_token = float(fpt(self.seq_len)) if callable(fpt) else None
        if state.is_main_process and self.peak is None:
            print(f"speed: device {self.name!r} is not in the peak-FLOPs table; MFU reported as unknown", flush=True)

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        now = time.perf_counter()
        if self._t is None:
            self._t, self._tokens = now, state.tokens_seen
            return
        dt, dtok = now - self._t, state.tokens_seen - self._tokens
        self._t, self._tokens = now, state.tokens_seen
        if dt <= 0:
            return
        world = torch.distributed.get_world_size() if torch.distributed.is_initialized() else 1
        tps = dtok / dt
        out: dict[str, Any] = {"throughput/tokens_per_sec": tps, "throughput/tokens_per_sec_per_device": tps / world,
                               "throughput/step_seconds": dt, "throughput/mfu_known": float(self.peak is not None)}
        if self.flops_per_token is not None:
            value = mfu(tps / world, self.flops_per_token, self.peak)
            if value is not None:
                out["throughput/mfu"] = value
        state.log(out)
