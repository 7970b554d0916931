"""``olmo-eval list``: registered tasks and suites."""

from __future__ import annotations

import argparse

EPILOG = """examples:
  olmo-eval list
  olmo-eval list --suites
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suites", action="store_true", help="list only the suites")


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from olmo_eval.tasks import SUITES, TASKS, get_task

    console = Console()
    suites = Table(title="suites")
    suites.add_column("suite")
    suites.add_column("tasks")
    for name, members in SUITES.items():
        shown = ", ".join(members) if len(members) <= 10 else f"{', '.join(members[:3])}, ... ({len(members)} tasks)"
        suites.add_row(name, shown)
    console.print(suites)
    if args.suites:
        return 0
    tasks = Table(title=f"{len(TASKS)} tasks")
    for col in ("task", "kind", "format", "shots", "primary metric", "PMI"):
        tasks.add_column(col)
    for name in TASKS:
        t = get_task(name)
        cfg = t.config  # other kinds (generation) may lack the ranked-classification fields
        tasks.add_row(name, t.kind, str(getattr(cfg, "formulation", "")), str(getattr(cfg, "num_shots", "")),
                      str(getattr(cfg, "primary_metric", "")), "yes" if getattr(cfg, "uncond_prompt", None) else "")
    console.print(tasks)
    return 0
