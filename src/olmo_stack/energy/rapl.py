"""CPU package (and DRAM) energy from Linux powercap RAPL counters.

Layout read (``root`` is ``/sys/class/powercap`` unless a test points it at a fake tree)::

    root/intel-rapl:0/{name, energy_uj, max_energy_range_uj}        package-0
    root/intel-rapl:0/intel-rapl:0:2/{name, energy_uj, ...}        dram (counted), core/uncore (not:
                                                                    they are inside the package)

``energy_uj`` is a counter that wraps to 0 after ``max_energy_range_uj`` (a few minutes to an hour at
full load), so the meter polls it more often than that and adds up the deltas. The counters cover the
whole socket: every process on the machine, not only ours. Since 2020 kernels make ``energy_uj``
readable by root only; an unreadable counter means no RAPL channel (the estimate takes over)."""

from __future__ import annotations

import re
from pathlib import Path

from olmo_stack.energy.channels import Channel, cpu_source

DEFAULT_ROOT = "/sys/class/powercap"
_ZONE = re.compile(r"intel-rapl:\d+")
_SUBZONE = re.compile(r"intel-rapl:\d+:\d+")


def _read_int(path: Path) -> int:
    return int(path.read_text().strip())


class RaplChannel(Channel):
    measured, scope, polled = True, "machine", True

    def __init__(self, zone: Path, device: str) -> None:
        self.zone = zone
        self.device = device
        self.name = (zone / "name").read_text().strip() if (zone / "name").is_file() else zone.name
        self.method = f"RAPL powercap counter {zone.name} ({self.name}), whole socket"
        self.max_range = _read_int(zone / "max_energy_range_uj")
        self._last = _read_int(zone / "energy_uj")
        self._total_uj = 0

    def poll(self) -> None:
        now = _read_int(self.zone / "energy_uj")
        # a smaller reading means the counter wrapped past max_energy_range_uj once since the last poll
        self._total_uj += now - self._last if now >= self._last else self.max_range - self._last + now
        self._last = now

    def joules(self) -> float:
        return self._total_uj / 1e6


def rapl_zones(root: Path) -> list[tuple[Path, str]]:
    """(zone folder, device) for each package zone and each DRAM subzone; psys (the whole platform,
    which contains the packages) and core/uncore subzones (inside the package) are left out."""
    zones: list[tuple[Path, str]] = []
    if not root.is_dir():
        return zones
    for zone in sorted(p for p in root.iterdir() if _ZONE.fullmatch(p.name)):
        name = (zone / "name").read_text().strip() if (zone / "name").is_file() else ""
        if name.startswith("package"):
            zones.append((zone, "cpu"))
        for sub in sorted(p for p in zone.iterdir() if _SUBZONE.fullmatch(p.name)):
            if (sub / "name").is_file() and (sub / "name").read_text().strip() == "dram":
                zones.append((sub, "dram"))
    return zones


@cpu_source("rapl")
def rapl_channels(cfg) -> list[Channel]:  # noqa: ANN001 - EnergyConfig (imported lazily to avoid a cycle)
    try:
        return [RaplChannel(zone, device) for zone, device in rapl_zones(Path(cfg.powercap_root))]
    except (OSError, ValueError):  # not readable (root-only since 2020 kernels) or damaged: estimate instead
        return []
