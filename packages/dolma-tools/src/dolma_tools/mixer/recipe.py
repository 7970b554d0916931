"""Running a recipe: every tagger set, then the mixer, with one summary at the end."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from dolma_tools.executor import RunSummary
from dolma_tools.mixer.config import RecipeConfig
from dolma_tools.mixer.report import print_errors, print_mix, print_run
from dolma_tools.mixer.run import aggregate, mix


def resolve_attributes_root(recipe: RecipeConfig) -> None:
    """Documents outside a ``documents/`` folder get their attributes under ``<destination>/attributes``."""
    if recipe.mix.attributes_root is None:
        from dolma_tools.docio import expand_inputs

        if any("documents" not in p.parts for p in expand_inputs(recipe.mix.documents)):
            recipe.mix.attributes_root = str(Path(recipe.mix.destination, "attributes"))


def run_recipe(recipe: RecipeConfig, *, progress: bool = True, ray_address: str | None = None,
               console: Console | None = None) -> dict[str, Any]:
    from dolma_tools.taggers.run import tag

    console = console or Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    if not recipe.mix.documents:
        raise ValueError("the recipe has no documents: set mix.documents (e.g. --documents PATH)")
    resolve_attributes_root(recipe)
    runs: list[RunSummary] = []
    for step in recipe.tag:
        s = tag(recipe.mix.documents, list(step.taggers), experiment=step.experiment,
                attributes_root=recipe.mix.attributes_root, executor=recipe.executor, processes=recipe.processes,
                on_error=recipe.on_error, progress=progress, ray_address=ray_address)
        print_run(s, console)
        runs.append(s)
        if not s.ok:
            return {"ok": False, "runs": [r.to_json() for r in runs]}
    m = mix(recipe.mix, executor=recipe.executor, processes=recipe.processes, on_error=recipe.on_error,
            progress=progress, ray_address=ray_address)
    runs.append(m)
    print_run(m, console)
    sources, errors = aggregate(m)
    print_mix(sources, console)
    print_errors(errors, console)
    return {"ok": m.ok, "runs": [r.to_json() for r in runs], "sources": sources, "errors": errors}
