"""What each stage contributes to the run's HTML report and to the summary printed at the end.

A stage's module registers its contributions next to the stage itself: ``@report_section("tokens")``
on a function that adds the stage's section to the :class:`~olmo_stack.report.Report`, and
``@summary_line("tokens")`` on one that turns the stage's metrics into its summary row. The report
(:mod:`olmo_stack.pipeline.report_build`) and the summary (:mod:`olmo_stack.pipeline.run`) only lay
out what the stages hand them, and know no stage by name.

A section names the stages whose manifests it reads (Evaluation reads ``eval_base`` and
``eval_adapted``): it is written when one of them has run, at the place of the first of them to have
run, so the report follows the order of the run."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_stack.report import Report


@dataclass(frozen=True)
class ReportInputs:
    """What a section reads: the manifests of the stages that ran (in run order) and the folder its
    figures go to."""

    manifests: Mapping[str, dict[str, Any]]
    plots: Path

    def jsonl(self, stage: str, output: str = "metrics") -> list[dict[str, Any]]:
        """The rows of a stage's JSON-lines output (its per-step metrics by default); none if absent."""
        path = Path(self.manifests[stage]["outputs"][output])
        if not path.is_file():
            return []
        return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


SectionWriter = Callable[[Report, ReportInputs], None]
SummaryLine = Callable[[dict[str, Any]], str]

#: stages a section reads -> the function that writes it, in registration order
SECTIONS: dict[tuple[str, ...], SectionWriter] = {}
#: stage -> its summary row from its manifest's metrics ("" when it has nothing to say)
SUMMARY_LINES: dict[str, SummaryLine] = {}


def report_section(*stages: str) -> Callable[[SectionWriter], SectionWriter]:
    def deco(fn: SectionWriter) -> SectionWriter:
        if not stages or stages in SECTIONS:
            raise ValueError(f"report section for stages {stages}: none named, or already registered")
        SECTIONS[stages] = fn
        return fn

    return deco


def summary_line(stage: str) -> Callable[[SummaryLine], SummaryLine]:
    def deco(fn: SummaryLine) -> SummaryLine:
        if stage in SUMMARY_LINES:
            raise ValueError(f"summary line for stage {stage!r} is already registered")
        SUMMARY_LINES[stage] = fn
        return fn

    return deco


def sections_in_run_order(manifests: Mapping[str, Any]) -> list[SectionWriter]:
    """The sections of the stages that ran, each at the place of the first of its stages to have run."""
    position = {name: i for i, name in enumerate(manifests)}
    placed = [(min(position[s] for s in stages if s in position), fn) for stages, fn in SECTIONS.items()
              if any(s in position for s in stages)]
    return [fn for _, fn in sorted(placed, key=lambda p: p[0])]


def summary_of(stage: str, metrics: dict[str, Any]) -> str:
    fn = SUMMARY_LINES.get(stage)
    return fn(metrics) if fn is not None else ""
