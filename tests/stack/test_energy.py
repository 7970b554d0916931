"""olmo_stack.energy: the estimate path on this machine (no /sys/class/powercap here), the RAPL path
on a fake powercap tree whose counters the test advances (wraparound included), NVML and AMD SMI
through stand-in modules, and the hook in the pipeline that puts a record in every manifest. CO2eq
and the expected joules are computed here in closed form from the inputs."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from olmo_stack.energy import EnergyConfig
from olmo_stack.pipeline.energy_report import energy_cell, total_line, write_energy_section
from olmo_stack.report import Report
from olmo_stack.stages import Pipeline, Stage

KWH = 3.6e6


def burn(cpu_seconds: float) -> float:
    """SHA-256 until this process used ``cpu_seconds`` of CPU; the CPU seconds it took."""
    h, block, t0 = hashlib.sha256(), b"x" * 65536, time.process_time()
    while time.process_time() - t0 < cpu_seconds:
        h.update(block)
    return time.process_time() - t0


def test_estimate_is_watts_per_core_times_cpu_seconds_of_process_and_children(tmp_path: Path) -> None:
    cfg = EnergyConfig(cpu_watts_per_core=7.0, poll_seconds=0.05, powercap_root=str(tmp_path / "none"),
                       dev_root=str(tmp_path))
    probe = cfg.build().start()
    own = burn(0.6)
    child = subprocess.run([sys.executable, "-c", "import time\nt=time.process_time()\n"
                            "while time.process_time() < 0.4: pass\nprint(time.process_time())"],
                           capture_output=True, text=True, check=True)
    rec = probe.stop("sft", {"units": 200})
    expected = 7.0 * (own + float(child.stdout))  # CPU time as each process itself counted it
    assert rec["status"] == "estimated" and [c["device"] for c in rec["components"]] == ["cpu"]
    assert rec["components"][0]["measured"] is False and "estimated" in rec["components"][0]["method"]
    assert expected <= rec["joules"] <= expected * 1.1 + 0.3, (rec["joules"], expected)
    assert rec["kwh"] == pytest.approx(rec["joules"] / KWH)
    assert rec["co2eq_kg"] == pytest.approx(rec["joules"] / KWH * 1.1 * 0.610)  # the OLMo paper's defaults
    assert rec["per_unit"] == pytest.approx({"unit": "example", "count": 200, "joules": rec["joules"] / 200,
                                             "co2eq_g": rec["co2eq_kg"] * 1e3 / 200})


def _zone(path: Path, name: str, energy: int, max_range: int = 1_000_000) -> Path:
    path.mkdir(parents=True)
    (path / "name").write_text(name + "\n")
    (path / "energy_uj").write_text(f"{energy}\n")
    (path / "max_energy_range_uj").write_text(f"{max_range}\n")
    return path


def test_rapl_counters_measured_with_wraparound_on_a_fake_powercap_tree(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    pkg0 = _zone(root / "intel-rapl:0", "package-0", 800_000)
    _zone(pkg0 / "intel-rapl:0:0", "core", 5)  # inside the package: not counted again
    dram = _zone(pkg0 / "intel-rapl:0:1", "dram", 10_000, max_range=50_000)
    pkg1 = _zone(root / "intel-rapl:1", "package-1", 0)
    _zone(root / "intel-rapl:2", "psys", 0)  # the whole platform, packages included: left out
    _zone(root / "intel-rapl-mmio:0", "package-0", 0)  # the same package through MMIO
    cfg = EnergyConfig(powercap_root=str(root), dev_root=str(tmp_path), poll_seconds=0, pue=1.2,
                       carbon_intensity_kg_per_kwh=0.5)
    probe = cfg.build().start()
    assert probe._thread is None  # polled here by hand; with poll_seconds > 0 a thread would poll
    threaded = EnergyConfig(powercap_root=str(root), dev_root=str(tmp_path)).build().start()
    assert threaded._thread is not None and threaded._thread.is_alive()
    threaded.stop()
    assert not threaded._thread.is_alive()
    steps = [  # (package-0, dram, package-1) readings between polls
        (950_000, 40_000, 300_000),
        (100_000, 5_000, 600_000),  # package-0 and dram wrapped
        (300_000, 20_000, 999_000),
    ]
    for i, (p0, d, p1) in enumerate(steps):
        for zone, value in ((pkg0, p0), (dram, d), (pkg1, p1)):
            (zone / "energy_uj").write_text(f"{value}\n")
        if i < len(steps) - 1:
            probe.poll()
    rec = probe.stop("tokens", {"tokens": 4000})
    by_name = {c["name"]: c for c in rec["components"]}
    assert sorted(by_name) == ["dram", "package-0", "package-1"]
    assert by_name["package-0"]["joules"] == pytest.approx((150_000 + 150_000 + 200_000) / 1e6)
    assert by_name["dram"]["joules"] == pytest.approx((30_000 + 15_000 + 15_000) / 1e6)
    assert by_name["package-1"]["joules"] == pytest.approx(0.999)
    assert rec["status"] == "measured" and all(c["measured"] and c["scope"] == "machine" for c in rec["components"])
    total = 0.5 + 0.06 + 0.999
    assert rec["joules"] == pytest.approx(total)
    assert rec["co2eq_kg"] == pytest.approx(total / KWH * 1.2 * 0.5)
    assert rec["per_unit"]["unit"] == "token" and rec["per_unit"]["joules"] == pytest.approx(total / 4000)


def test_unreadable_powercap_falls_back_to_the_estimate(tmp_path: Path) -> None:
    root = tmp_path / "powercap"
    (root / "intel-rapl:0").mkdir(parents=True)
    (root / "intel-rapl:0" / "name").write_text("package-0\n")
    (root / "intel-rapl:0" / "energy_uj").mkdir()  # reading it fails, as a root-only counter does
    rec = EnergyConfig(powercap_root=str(root), dev_root=str(tmp_path), poll_seconds=0).build().start().stop()
    assert rec["status"] == "estimated" and rec["components"][0]["method"].startswith("estimated")


class _FakeNvml(types.ModuleType):
    """pynvml's calls the meter makes, on two boards whose energy counters advance by known amounts."""

    class NVMLError(Exception):
        pass

    def __init__(self, counters: list[list[int]]) -> None:
        super().__init__("pynvml")
        self.counters = counters  # per board: the millijoule readings, one per call

    def nvmlInit(self) -> None:  # noqa: N802 - NVML's names
        pass

    def nvmlDeviceGetCount(self) -> int:  # noqa: N802
        return len(self.counters)

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:  # noqa: N802
        return i

    def nvmlDeviceGetName(self, h: int) -> bytes:  # noqa: N802
        return b"NVIDIA H100"

    def nvmlDeviceGetTotalEnergyConsumption(self, h: int) -> int:  # noqa: N802
        return self.counters[h].pop(0)


def test_nvml_energy_counters_are_read_per_board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", _FakeNvml([[1_000_000, 1_250_000, 1_900_000], [5, 6, 3_005]]))
    rec = EnergyConfig(powercap_root=str(tmp_path), dev_root=str(tmp_path), poll_seconds=0).build().start()
    rec.poll()
    out = rec.stop()
    gpus = [c for c in out["components"] if c["device"] == "gpu"]
    assert [c["joules"] for c in gpus] == pytest.approx([900.0, 3.0])
    assert all(c["measured"] and "nvmlDeviceGetTotalEnergyConsumption" in c["method"] for c in gpus)
    assert out["status"] == "partly estimated"  # the CPU part is still the estimate here


def test_amd_smi_energy_accumulator_times_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readings = [{"energy_accumulator": 1000, "counter_resolution": 15.3},
                {"energy_accumulator": 1000 + 2_000_000, "counter_resolution": 15.3}]
    smi = types.SimpleNamespace(amdsmi_init=lambda: None, amdsmi_get_processor_handles=lambda: ["gpu0"],
                                amdsmi_get_energy_count=lambda h: readings.pop(0))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no NVML: the AMD source is asked next
    monkeypatch.setitem(sys.modules, "amdsmi", smi)
    out = EnergyConfig(powercap_root=str(tmp_path), dev_root=str(tmp_path), poll_seconds=0).build().start().stop()
    gpu = [c for c in out["components"] if c["device"] == "gpu"]
    assert len(gpu) == 1 and gpu[0]["joules"] == pytest.approx(2_000_000 * 15.3 / 1e6) and gpu[0]["measured"]


def test_gpus_without_a_library_get_the_board_power_estimate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("nvidia0", "nvidia1", "nvidiactl", "nvidia-uvm"):
        (tmp_path / name).touch()
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    t0 = time.monotonic()
    probe = EnergyConfig(gpu_board_watts=300, powercap_root=str(tmp_path), dev_root=str(tmp_path),
                         poll_seconds=0).build().start()
    time.sleep(0.2)
    out = probe.stop()
    outer = time.monotonic() - t0
    gpus = [c for c in out["components"] if c["device"] == "gpu"]
    assert [c["name"] for c in gpus] == ["nvidia0", "nvidia1"] and not any(c["measured"] for c in gpus)
    assert all(300 * 0.2 <= c["joules"] <= 300 * outer for c in gpus)


def test_bad_settings_name_the_field() -> None:
    with pytest.raises(ValueError, match=r"energy\.pue"):
        EnergyConfig(pue=0.9)
    with pytest.raises(ValueError, match=r"energy\.carbon_intensity_kg_per_kwh"):
        EnergyConfig(carbon_intensity_kg_per_kwh=-1)


def _work(ctx):  # noqa: ANN001, ANN202
    burn(0.3)
    return {"outputs": {}, "metrics": {"tokens": 1234}}


def test_pipeline_records_energy_in_every_manifest(tmp_path: Path) -> None:
    stages = [Stage("tokens", _work), Stage("other", lambda ctx: {"metrics": {"x": 1}}, after=("tokens",))]
    meter = EnergyConfig(poll_seconds=0, powercap_root=str(tmp_path / "none"), dev_root=str(tmp_path)).build()
    manifests = Pipeline(tmp_path / "run", stages, log=lambda m: None, meter=meter).run()
    tok, other = manifests["tokens"]["energy"], manifests["other"]["energy"]
    assert 4.0 * 0.3 <= tok["joules"] and tok["per_unit"]["count"] == 1234 and "per_unit" not in other
    assert other["joules"] < tok["joules"]
    unmetered = Pipeline(tmp_path / "run2", stages[:1], log=lambda m: None).run()
    assert "energy" not in unmetered["tokens"]

    total = tok["joules"] + other["joules"]
    assert total_line(manifests) == f"energy: ~{total:.3g} J in all, {total / KWH * 1.1 * 0.610 * 1e6:.3g} mg CO2eq " \
                                    "(~: estimated, see the report)"
    assert energy_cell(manifests["tokens"]).startswith(f"~{tok['joules']:.3g} J, ")
    assert total_line(unmetered) == "energy: not metered" and energy_cell(unmetered["tokens"]) == "not metered"
    rep = Report("t")
    write_energy_section(rep, manifests)
    html = "".join(rep.sections[0].parts)
    assert rep.sections[0].title == "Energy and carbon" and "x PUE x carbon intensity" in html
    assert "<td>tokens</td><td>estimated</td>" in html and "/ token (1,234)" in html
    rep = Report("t")
    write_energy_section(rep, unmetered)
    assert rep.sections == []  # nothing metered, no section
