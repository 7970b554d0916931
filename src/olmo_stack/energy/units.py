"""The work a stage did, for its energy per unit: ``@work_units("stage")`` on a function from the
stage's manifest metrics to ``(unit, count)``, or None when the metrics do not say."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

UnitsOf = Callable[[Mapping[str, Any]], "tuple[str, int] | None"]
UNITS: dict[str, UnitsOf] = {}


def work_units(stage: str) -> Callable[[UnitsOf], UnitsOf]:
    def deco(fn: UnitsOf) -> UnitsOf:
        if stage in UNITS:
            raise ValueError(f"work units of stage {stage!r} are already registered")
        UNITS[stage] = fn
        return fn

    return deco


def units_of(stage: str, metrics: Mapping[str, Any]) -> tuple[str, int] | None:
    fn = UNITS.get(stage)
    found = fn(metrics) if fn is not None else None
    return found if found is not None and found[1] > 0 else None


@work_units("tokens")
def _tokenized(metrics: Mapping[str, Any]) -> tuple[str, int] | None:
    return ("token", int(metrics["tokens"])) if "tokens" in metrics else None


@work_units("pretrain")
def _trained(metrics: Mapping[str, Any]) -> tuple[str, int] | None:
    seen = (metrics.get("final") or {}).get("throughput/tokens_seen")
    return ("token", int(seen)) if seen is not None else None


def _examples(metrics: Mapping[str, Any]) -> tuple[str, int] | None:
    # open-instruct's summary counts training examples (SFT) or preference pairs (DPO), not tokens
    return ("example", int(metrics["units"])) if "units" in metrics else None


work_units("sft")(_examples)
work_units("dpo")(_examples)
