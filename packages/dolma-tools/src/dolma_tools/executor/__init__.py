"""Run per-file tasks on a local process pool (default) or on Ray, with progress and resume.

    from dolma_tools.executor import Task, run_tasks

    def work(payload, report):          # module level, picklable
        ...write outputs with docio.atomic_output...
        report(docs=n, nbytes=size)      # optional, for the progress bars
        return {"docs": n}               # JSON-able stats, kept in the done-marker

    summary = run_tasks(work, [Task(key=str(p), payload={"path": str(p)}, size=p.stat().st_size)
                               for p in files],
                        executor="local", processes=None, done_dir=out / ".done")

Finished tasks leave a done-marker in ``done_dir``; a second run skips them and reloads their stats.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from dolma_tools.executor.progress import RunProgress
from dolma_tools.executor.tasks import (
    DoneMarkers,
    Reporter,
    RunSummary,
    Task,
    WorkFn,
    default_processes,
    null_reporter,
)

EXECUTORS = ("local", "ray")


def run_tasks(fn: WorkFn, tasks: Iterable[Task], *, executor: str = "local", processes: int | None = None,
              done_dir: str | Path | None = None, description: str = "tasks", progress: bool = True,
              ray_address: str | None = None) -> RunSummary:
    """Run every task not already marked done; return a :class:`RunSummary` (failures included,
    never raised: a failed task names its file in ``summary.failures`` and gets no marker)."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    tasks = list(tasks)
    keys = [t.key for t in tasks]
    if len(set(keys)) != len(keys):
        raise ValueError("task keys must be unique")
    processes = processes or default_processes()
    markers = DoneMarkers(done_dir)
    summary = RunSummary(description=description, engine=executor, processes=processes, total=len(tasks))
    todo: list[Task] = []
    for t in tasks:
        stats = markers.load(t.key)
        if stats is None:
            todo.append(t)
        else:
            summary.stats[t.key] = stats
            summary.resumed += 1
    todo.sort(key=lambda t: -t.size)  # big files first: the pool drains evenly
    bar = RunProgress(description, len(todo), sum(t.size for t in todo), enabled=progress)
    start = time.monotonic()

    def on_done(task: Task, stats: dict | None, error: str | None) -> None:
        if error is not None:
            summary.failures[task.key] = error
            bar.update(tasks=1, file_bytes=task.size)
            return
        assert stats is not None
        markers.mark(task.key, stats)
        summary.stats[task.key] = stats
        summary.finished += 1
        summary.docs += int(stats.get("docs", 0))
        summary.nbytes += task.size
        bar.update(tasks=1, file_bytes=task.size)

    try:
        if executor == "ray":
            from dolma_tools.executor.ray_engine import run_ray

            run_ray(fn, todo, processes, on_done, bar, address=ray_address)
        else:
            from dolma_tools.executor.local import run_local

            run_local(fn, todo, processes, on_done, bar)
    finally:
        bar.close()
    summary.elapsed_s = time.monotonic() - start
    return summary


__all__ = ["EXECUTORS", "DoneMarkers", "Reporter", "RunSummary", "Task", "WorkFn", "default_processes",
           "null_reporter", "run_tasks"]
