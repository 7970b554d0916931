"""End-of-run summaries for tag and mix, printed as rich tables (plain text when not a terminal)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.table import Table

from dolma_tools.executor import RunSummary


def print_run(summary: RunSummary, console: Console | None = None) -> None:
    console = console or Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    j = summary.to_json()
    console.print(f"[bold]{summary.description}[/]: {j['finished']} files done, {j['resumed']} resumed, "
                  f"{j['failed']} failed on {summary.engine} x{summary.processes}; {j['docs']:,} docs in "
                  f"{j['elapsed_s']:.1f}s ({j['docs_per_s'] or 0:,.0f} docs/s)")
    for key, msg in summary.failures.items():
        console.print(f"FAILED {key}: {msg}", style="red", markup=False)


def print_errors(errors: dict[str, Any], console: Console | None = None) -> None:
    console = console or Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    counts = errors.get("counts", {})
    if not counts:
        return
    console.print("bad input skipped (--on-error skip): " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items())))
    for m in errors.get("messages", [])[:10]:
        console.print(f"  {m}", markup=False)


def print_mix(sources: dict[str, dict[str, Any]], console: Console | None = None) -> None:
    console = console or Console(soft_wrap=True, width=None if sys.stdout.isatty() else 200)
    t = Table(title="documents kept and removed per source")
    for col in ("source", "docs", "kept", "removed", "kept %", "written", "chars in", "chars out"):
        t.add_column(col, justify="left" if col == "source" else "right")
    tot = {"docs": 0, "kept": 0, "removed": 0, "written": 0, "chars_in": 0, "chars_out": 0}
    for src, st in sources.items():
        for k in tot:
            tot[k] += st[k]
        t.add_row(src or "(none)", *_row(st))
    t.add_row("TOTAL", *_row(tot), style="bold")
    console.print(t)
    rules = sorted({r for st in sources.values() for r in (*st["fired"], *st["removed_by"])})
    r = Table(title="documents removed per rule (first rule that fired; 'fired' counts every rule that fired)")
    r.add_column("rule")
    for src in sources:
        r.add_column(src or "(none)", justify="right")
    r.add_column("removed", justify="right")
    r.add_column("fired", justify="right")
    for rule in rules:
        removed = [st["removed_by"].get(rule, 0) for st in sources.values()]
        fired = sum(st["fired"].get(rule, 0) for st in sources.values())
        r.add_row(rule, *(f"{v:,}" for v in removed), f"{sum(removed):,}", f"{fired:,}")
    console.print(r)
    reps = sorted({k for st in sources.values() for k in st["replaced"]})
    if reps:
        s = Table(title="spans replaced")
        s.add_column("replacement")
        for src in sources:
            s.add_column(src or "(none)", justify="right")
        for rep in reps:
            s.add_row(rep, *(f"{st['replaced'].get(rep, 0):,}" for st in sources.values()))
        console.print(s)


def _row(st: dict[str, Any]) -> list[str]:
    pct = 100.0 * st["kept"] / st["docs"] if st["docs"] else 0.0
    return [f"{st['docs']:,}", f"{st['kept']:,}", f"{st['removed']:,}", f"{pct:.1f}", f"{st['written']:,}",
            f"{st['chars_in']:,}", f"{st['chars_out']:,}"]
