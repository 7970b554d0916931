"""Energy and CO2eq in the smoke demo (the session's one uninterrupted run, tests/conftest.py): every
stage's manifest holds a record, estimated on this machine (no readable RAPL counters, no GPU) and
labelled so, with CO2eq = energy x PUE x intensity; tokens and pretrain have energy per token; the
report's section and the exported model card show them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

STAGES = ("filter", "decontaminate", "tokens", "pretrain", "eval_base", "tasks", "sft", "onpolicy", "dpo", "grpo",
          "eval_verified", "eval_adapted", "export")
LINEAGE = ("grpo", "dpo", "onpolicy", "sft", "tasks", "pretrain", "tokens", "decontaminate", "filter")


def _manifest(run: Path, stage: str) -> dict:
    return json.loads((run / stage / "manifest.json").read_text())


def test_every_stage_of_the_smoke_demo_records_its_energy(smoke_demo: tuple[Path, float]) -> None:
    run = smoke_demo[0]
    energy = {s: _manifest(run, s)["energy"] for s in STAGES}
    readable_rapl = Path("/sys/class/powercap/intel-rapl:0/energy_uj").is_file()
    for stage, e in energy.items():
        assert e["joules"] > 0 and e["components"], stage
        if not readable_rapl:
            assert e["status"] == "estimated" and e["components"][0]["method"].startswith("estimated"), stage
        assert e["co2eq_kg"] == pytest.approx(e["joules"] / 3.6e6 * 1.1 * 0.610), stage
        assert e["seconds"] <= _manifest(run, stage)["seconds"] + 1.0
    tokens = _manifest(run, "tokens")["metrics"]["tokens"]
    assert energy["tokens"]["per_unit"] == pytest.approx(
        {"unit": "token", "count": tokens, "joules": energy["tokens"]["joules"] / tokens,
         "co2eq_g": energy["tokens"]["co2eq_kg"] * 1e3 / tokens})
    seen = _manifest(run, "pretrain")["metrics"]["final"]["throughput/tokens_seen"]
    assert energy["pretrain"]["per_unit"]["unit"] == "token" and energy["pretrain"]["per_unit"]["count"] == seen
    assert energy["pretrain"]["joules"] > energy["decontaminate"]["joules"]  # training is the costly stage

    report = (run / "report" / "index.html").read_text()
    assert "Energy and carbon" in report and "CO2eq (kg) = energy (kWh) x PUE x carbon intensity" in report
    for stage in STAGES:
        assert f"<td>{stage}</td>" in report

    card = (run / "export" / "hf" / "README.md").read_text()
    assert "## Energy and carbon" in card
    rows = [line.split("|")[1].strip() for line in card.splitlines() if line.startswith("| ") and "stage" not in line]
    assert sorted(rows) == sorted(LINEAGE)  # the stages that made the model; not the evaluations
    total = sum(energy[s]["joules"] for s in LINEAGE)
    assert f"~{total / 3600:.3g} Wh" in card or f"~{total:.3g} J" in card, card


def test_the_run_summary_shows_energy_per_stage_and_in_all(smoke_demo: tuple[Path, float]) -> None:
    from rich.console import Console

    from olmo_stack.pipeline.run import _summary

    run = smoke_demo[0]
    manifests = {s: _manifest(run, s) for s in STAGES}
    console = Console(record=True, width=250)
    _summary(console, manifests, run / "report" / "index.html", 60.0)
    text = console.export_text()
    total = sum(m["energy"]["joules"] for m in manifests.values())
    assert "energy (~: estimated)" in text and f"~{total / 3600:.3g} Wh in all" in text, text
    assert text.count("CO2eq") >= len(STAGES)
