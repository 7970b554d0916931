"""The run's HTML report: the table of stages and package versions, then each stage's own section in
the order the stages ran. The sections live with their stages (``@report_section`` in
:mod:`olmo_stack.pipeline.reporting`); this module only lays them out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The stage modules register their sections as they import: import them all here, so that a report
# built without running the pipeline first misses none.
from olmo_stack.pipeline import adapt, data, evaluate, export, learning_curve, trace, train  # noqa: F401
from olmo_stack.pipeline.energy_report import write_energy_section
from olmo_stack.pipeline.reporting import ReportInputs, sections_in_run_order
from olmo_stack.report import Report


def build_report(run_dir: Path, manifests: dict[str, dict[str, Any]]) -> Path:
    plots = run_dir / "report" / "plots"
    plots.mkdir(parents=True, exist_ok=True)
    rep = Report(f"olmo-stack run: {run_dir.name}")
    rep.section("Stages").table([{"stage": n, "seconds": m.get("seconds", 0.0), "fingerprint": m["fingerprint"][:12]}
                                 for n, m in manifests.items()])
    versions = next(iter(manifests.values()))["versions"] if manifests else {}
    rep.table([{"package": k, "version": v} for k, v in versions.items()], caption="package versions")
    write_energy_section(rep, manifests)  # every stage's energy, beside the table of stages
    inputs = ReportInputs(manifests, plots)
    for write_section in sections_in_run_order(manifests):
        write_section(rep, inputs)
    return rep.write(run_dir / "report" / "index.html")
