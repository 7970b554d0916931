"""Our energy meter (olmo_stack.energy) and codecarbon on the same fixed CPU workload, side by side.

    uv run python tools/energy_vs_codecarbon.py                 # 3 CPU seconds of SHA-256, table
    uv run python tools/energy_vs_codecarbon.py --cpu-seconds 5 --json out.json

Both meters run in one process, codecarbon's own pinned environment (``codecarbon==3.3.2``, a
:class:`harness.PeerEnv`: it brings pandas, pydantic, requests, prometheus and more, 186 MB, so it is no
dependency of ours), around the same workload: SHA-256 over a fixed buffer in this process until it
has used ``--cpu-seconds`` of CPU, plus a child process doing the same for half as long. Our meter is
pure standard library, so it is imported there from ``src/``. codecarbon runs offline in its
``process`` tracking mode with PUE 1 and its CPU power forced to ours (``cpu_watts_per_core`` x
logical cores) so both apply the same power model; what differs is how CPU load is obtained (our
``getrusage`` totals vs. its psutil samples of the live process tree) and that codecarbon adds RAM
power. On a machine with readable RAPL counters our figure is measured and codecarbon's too.
Prints one row per meter and ends with ``RESULT energy_vs_codecarbon ...``."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools" / "bench"))
import harness  # noqa: E402

CODECARBON = harness.PeerEnv(("codecarbon==3.3.2",))

WORKLOAD = r'''
import hashlib, json, os, subprocess, sys, time, warnings
warnings.filterwarnings("ignore")
from codecarbon import OfflineEmissionsTracker
from olmo_stack.energy import EnergyConfig

args = json.loads(sys.argv[1])
BURN = "import hashlib, time\nh = hashlib.sha256(); b = b'x' * 65536; t0 = time.process_time()\n" \
       "while time.process_time() - t0 < {s}: h.update(b)\nprint(time.process_time())"
cfg = EnergyConfig(poll_seconds=0.5, cpu_watts_per_core=args["watts_per_core"],
                   carbon_intensity_kg_per_kwh=args["intensity"], pue=1.0)
tracker = OfflineEmissionsTracker(country_iso_code=args["country"], tracking_mode="process", pue=1.0,
                                  force_cpu_power=args["watts_per_core"] * os.cpu_count(),
                                  measure_power_secs=1, save_to_file=False, log_level="error")
tracker.start()
probe = cfg.build().start()
t0 = time.process_time()
child = subprocess.run([sys.executable, "-c", BURN.format(s=args["cpu_seconds"] / 2)], capture_output=True,
                       text=True, check=True)
exec(BURN.format(s=args["cpu_seconds"]))
own_cpu = time.process_time() - t0
ours = probe.stop()
tracker.stop()
d = tracker.final_emissions_data
kwh = 3.6e6
print(json.dumps({
    "workload_cpu_seconds": {"this process": own_cpu, "child": float(child.stdout.split()[-1])},
    "ours": ours,
    "codecarbon": {"version": __import__("codecarbon").__version__, "cpu_joules": d.cpu_energy * kwh,
                   "ram_joules": d.ram_energy * kwh, "gpu_joules": d.gpu_energy * kwh,
                   "total_joules": d.energy_consumed * kwh, "co2eq_kg": d.emissions, "cpu_power_w": d.cpu_power,
                   "ram_power_w": d.ram_power, "cpu_model": d.cpu_model, "country": d.country_name,
                   "intensity_kg_per_kwh": d.emissions / d.energy_consumed if d.energy_consumed else None,
                   "tracking_mode": d.tracking_mode, "duration_s": d.duration}}))
'''


def compare(cpu_seconds: float = 3.0, watts_per_core: float = 4.0, intensity: float = 0.610,
            country: str = "AUS", timeout: float = 600) -> dict:
    """Run the workload under both meters; the figures as a dict (see WORKLOAD's output)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(harness.OFFLINE_ENV)
    env["PYTHONPATH"] = str(REPO / "src")  # olmo_stack.energy alone: standard library only
    env["CODECARBON_LOG_LEVEL"] = "error"
    args = {"cpu_seconds": cpu_seconds, "watts_per_core": watts_per_core, "intensity": intensity, "country": country}
    proc = subprocess.run([str(CODECARBON.python), "-c", WORKLOAD, json.dumps(args)], capture_output=True,
                          text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"codecarbon comparison failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(r: dict) -> str:
    ours, cc = r["ours"], r["codecarbon"]
    cpu = sum(c["joules"] for c in ours["components"] if c["device"] == "cpu")
    lines = [f"workload: {r['workload_cpu_seconds']['this process']:.2f} CPU s here + "
             f"{r['workload_cpu_seconds']['child']:.2f} CPU s in a child",
             f"{'meter':<26}{'CPU J':>10}{'RAM J':>10}{'total J':>10}  how",
             f"{'olmo_stack.energy':<26}{cpu:>10.2f}{'-':>10}{ours['joules']:>10.2f}  "
             + "; ".join(c["method"] for c in ours["components"]),
             f"{'codecarbon ' + cc['version']:<26}{cc['cpu_joules']:>10.2f}{cc['ram_joules']:>10.2f}"
             f"{cc['total_joules']:>10.2f}  {cc['tracking_mode']} mode, CPU {cc['cpu_model']}, "
             f"RAM {cc['ram_power_w']:.1f} W",
             f"CO2eq: ours {ours['co2eq_kg'] * 1e6:.3g} mg at {ours['carbon_intensity_kg_per_kwh']} kg/kWh; codecarbon "
             f"{cc['co2eq_kg'] * 1e6:.3g} mg at {cc['intensity_kg_per_kwh'] or 0:.3f} kg/kWh ({cc['country']}), PUE 1",
             f"RESULT energy_vs_codecarbon cpu_ratio={cpu / cc['cpu_joules']:.3f} ours_cpu_j={cpu:.2f} "
             f"codecarbon_cpu_j={cc['cpu_joules']:.2f} peer=codecarbon=={cc['version']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu-seconds", type=float, default=3.0, help="CPU seconds of work in this process")
    ap.add_argument("--watts-per-core", type=float, default=4.0, help="the CPU power model both meters use")
    ap.add_argument("--intensity", type=float, default=0.610, help="our grid carbon intensity (kg/kWh)")
    ap.add_argument("--country", default="AUS", help="codecarbon's country (its own intensity data)")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    a = ap.parse_args(argv)
    r = compare(a.cpu_seconds, a.watts_per_core, a.intensity, a.country)
    if a.json:
        a.json.write_text(json.dumps(r, indent=2))
    print(table(r))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
