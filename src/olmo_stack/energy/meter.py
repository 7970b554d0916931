"""The per-stage energy meter: which channels a machine offers, their readings over a stage, and the
stage's record (energy, how it was obtained, CO2eq and energy per unit of work).

    meter = EnergyConfig().build()
    probe = meter.start()
    ...                                   # the stage's work
    record = probe.stop("pretrain", metrics)
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

# the source modules register themselves on import, hardware counters before the estimates
from olmo_stack.energy import gpu, rapl  # noqa: F401  isort: skip
from olmo_stack.energy import estimate  # noqa: F401  isort: skip
from olmo_stack.energy.carbon import DEFAULT_CARBON_INTENSITY, DEFAULT_PUE, FORMULA, JOULES_PER_KWH, co2eq_kg
from olmo_stack.energy.channels import CPU_SOURCES, GPU_SOURCES, Channel
from olmo_stack.energy.units import units_of


@dataclass
class EnergyConfig:
    """How stages' energy is metered and turned into CO2eq (see :mod:`olmo_stack.energy.carbon` for
    the OLMo paper's method and defaults). ``cpu_watts_per_core`` and ``gpu_board_watts`` feed the
    estimates used only where no counter can be read; ``powercap_root`` and ``dev_root`` are where
    RAPL counters and GPU device nodes are looked for (tests point them at fake trees)."""

    enabled: bool = True
    pue: float = DEFAULT_PUE
    carbon_intensity_kg_per_kwh: float = DEFAULT_CARBON_INTENSITY
    cpu_watts_per_core: float = 4.0
    gpu_board_watts: float = 400.0
    powercap_root: str = "/sys/class/powercap"
    dev_root: str = "/dev"
    #: counters are read this often (RAPL wraps within minutes to an hour); 0: only at start and end
    poll_seconds: float = 5.0

    def __post_init__(self) -> None:
        for name in ("carbon_intensity_kg_per_kwh", "cpu_watts_per_core", "gpu_board_watts", "poll_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"energy.{name}: must be >= 0, got {getattr(self, name)}")
        if self.pue < 1:
            raise ValueError(f"energy.pue: a power usage effectiveness is >= 1, got {self.pue}")

    def build(self) -> EnergyMeter | None:
        return EnergyMeter(self) if self.enabled else None


def discover(cfg: EnergyConfig) -> list[Channel]:
    """For CPUs and for GPUs, the channels of the first source (in registration order) that finds any."""
    channels: list[Channel] = []
    for table in (CPU_SOURCES, GPU_SOURCES):
        for source in table.values():
            if found := source(cfg):
                channels += found
                break
    return channels


class EnergyMeter:
    def __init__(self, cfg: EnergyConfig) -> None:
        self.cfg = cfg

    def start(self) -> Probe:
        return Probe(self.cfg)


class Probe:
    """One stage's reading: the channels opened at start, polled in a daemon thread, read at stop."""

    def __init__(self, cfg: EnergyConfig) -> None:
        self.cfg = cfg
        self.channels = discover(cfg)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        if cfg.poll_seconds > 0 and any(c.polled for c in self.channels):
            self._thread = threading.Thread(target=self._loop, name="energy-poll", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._done.wait(self.cfg.poll_seconds):
            self.poll()

    def poll(self) -> None:
        with self._lock:
            for c in self.channels:
                c.poll()

    def stop(self, stage: str = "", metrics: dict[str, Any] | None = None) -> dict[str, Any]:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
        self.poll()
        for c in self.channels:
            c.close()
        return stage_record(self.channels, time.monotonic() - self._t0, self.cfg, units_of(stage, metrics or {}))


def stage_record(channels: list[Channel], seconds: float, cfg: EnergyConfig,
                 units: tuple[str, int] | None) -> dict[str, Any]:
    components = [c.record() for c in channels]
    joules = sum(c["joules"] for c in components)
    measured = [c["measured"] for c in components]
    status = "measured" if measured and all(measured) else "estimated" if not any(measured) else "partly estimated"
    co2 = co2eq_kg(joules, cfg.pue, cfg.carbon_intensity_kg_per_kwh)
    record: dict[str, Any] = {
        "status": status, "joules": round(joules, 6), "kwh": joules / JOULES_PER_KWH, "seconds": round(seconds, 3),
        "components": components, "pue": cfg.pue, "carbon_intensity_kg_per_kwh": cfg.carbon_intensity_kg_per_kwh,
        "co2eq_kg": co2, "formula": FORMULA,
    }
    if units is not None:
        unit, count = units
        record["per_unit"] = {"unit": unit, "count": count, "joules": joules / count, "co2eq_g": co2 * 1e3 / count}
    return record
