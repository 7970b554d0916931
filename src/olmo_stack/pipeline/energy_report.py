"""Where each stage's energy record (``manifest["energy"]``, :mod:`olmo_stack.energy`) shows: a
column of the run summary, the report's "Energy and carbon" section and the exported model card."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from olmo_stack.energy.carbon import FORMULA, JOULES_PER_KWH
from olmo_stack.report import Report


def fmt_energy(joules: float) -> str:
    if joules >= JOULES_PER_KWH:
        return f"{joules / JOULES_PER_KWH:.3g} kWh"
    return f"{joules / 3600:.3g} Wh" if joules >= 360 else f"{joules:.3g} J"


def fmt_co2(kg: float) -> str:
    return f"{kg:.3g} kg" if kg >= 1 else f"{kg * 1e3:.3g} g" if kg >= 1e-3 else f"{kg * 1e6:.3g} mg"


def _mark(e: Mapping[str, Any]) -> str:
    return "" if e["status"] == "measured" else "~"  # "~": estimated, wholly or in part


def energy_cell(manifest: Mapping[str, Any]) -> str:
    """The summary's energy column: ``~4.2 J, 0.78 mg CO2eq`` (``~``: estimated)."""
    e = manifest.get("energy")
    if not e:
        return "not metered"
    return f"{_mark(e)}{fmt_energy(e['joules'])}, {fmt_co2(e['co2eq_kg'])} CO2eq"


def totals(manifests: Iterable[Mapping[str, Any]]) -> tuple[float, float, bool]:
    """Joules and kg CO2eq summed over the metered stages, and whether any of them is estimated."""
    records = [m["energy"] for m in manifests if m.get("energy")]
    return (sum(e["joules"] for e in records), sum(e["co2eq_kg"] for e in records),
            any(e["status"] != "measured" for e in records))


def total_line(manifests: Mapping[str, Mapping[str, Any]]) -> str:
    if not any(m.get("energy") for m in manifests.values()):
        return "energy: not metered"
    joules, co2, estimated = totals(manifests.values())
    return (f"energy: {'~' if estimated else ''}{fmt_energy(joules)} in all, {fmt_co2(co2)} CO2eq"
            f"{' (~: estimated, see the report)' if estimated else ' (measured)'}")


def _rows(manifests: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for name, m in manifests.items():
        e = m.get("energy")
        if not e:
            rows.append({"stage": name, "status": "not metered (finished before energy was recorded)"})
            continue
        per = e.get("per_unit")
        rows.append({"stage": name, "status": e["status"], "energy (J)": round(e["joules"], 3),
                     "CO2eq (g)": round(e["co2eq_kg"] * 1e3, 6),
                     "per unit": f"{per['joules']:.3g} J, {per['co2eq_g'] * 1e3:.3g} mg / {per['unit']} "
                                 f"({per['count']:,})" if per else "",
                     "how": "; ".join(sorted({f"{c['device']}: {c['method']}" for c in e["components"]}))})
    return rows


def write_energy_section(rep: Report, manifests: Mapping[str, Mapping[str, Any]]) -> None:
    metered = [m["energy"] for m in manifests.values() if m.get("energy")]
    if not metered:  # a run made without a meter (energy.enabled=false, or before energy was recorded)
        return
    rep.section("Energy and carbon")
    rep.text(f"{FORMULA}. Energy is measured where the hardware reports it (RAPL for CPU packages and DRAM, "
             "NVML or AMD SMI for GPUs: whole devices, every process on them) and otherwise estimated from "
             "power-draw models (process CPU time x watts per core; GPU board power x time), as the status "
             "says. Method and defaults as in the OLMo paper (PUE 1.1; its Australian cluster's 0.610 kg/kWh).")
    e = metered[0]
    rep.text(f"PUE {e['pue']}, carbon intensity {e['carbon_intensity_kg_per_kwh']} kg CO2eq/kWh. "
             f"{total_line(manifests)}.")
    rep.table(_rows(manifests), columns=["stage", "status", "energy (J)", "CO2eq (g)", "per unit", "how"], caption="energy and CO2eq per stage (a resumed stage counts its last attempt only)")


def model_card_energy(chain: Iterable[Mapping[str, Any]]) -> str:
    """The model card's section: the energy of the stages that made the model (its lineage)."""
    chain = [c for c in chain if c.get("energy")]
    joules, co2, estimated = totals(chain)
    lines = ["## Energy and carbon", "",
             f"Energy to produce this model (the stages of its lineage): {'~' if estimated else ''}"
             f"{fmt_energy(joules)}, {fmt_co2(co2)} CO2eq"
             f"{' (estimated in part or whole; ~ marks estimates)' if estimated else ' (measured)'}.",
             f"{FORMULA}.", "", "| stage | status | energy | CO2eq | per unit |", "|---|---|---|---|---|"]
    for c in chain:
        e, per = c["energy"], c["energy"].get("per_unit")
        lines.append(f"| {c['stage']} | {e['status']} | {fmt_energy(e['joules'])} | {fmt_co2(e['co2eq_kg'])} | "
                     + (f"{per['joules']:.3g} J / {per['unit']}" if per else "") + " |")
    if chain:
        e = chain[0]["energy"]
        lines += ["", f"PUE {e['pue']}, carbon intensity {e['carbon_intensity_kg_per_kwh']} kg CO2eq/kWh; methods: "
                  + "; ".join(sorted({c2["method"] for c in chain for c2 in c["energy"]["components"]})) + "."]
    return "\n".join(lines) + "\n"
