"""Ray as the engine for clusters: the same work functions, one Ray task a file.

Connects to ``address`` (or ``$RAY_ADDRESS``) when given, else starts a local instance. Outputs go
to paths every worker can reach (a shared filesystem), and done-markers are written by the driver,
so resume works the same as with the local pool."""

from __future__ import annotations

from typing import Any

from dolma_tools.executor.local import describe_error
from dolma_tools.executor.ordered import RAY_MAX_RETRIES, connect_ray
from dolma_tools.executor.tasks import Task, WorkFn, null_reporter


def _ray_call(fn: WorkFn, payload: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return fn(payload, null_reporter), None
    except Exception as e:  # noqa: BLE001 - returned so the driver can name the failing file
        return None, describe_error(e)


def run_ray(fn: WorkFn, tasks: list[Task], processes: int, on_done, progress,  # noqa: ANN001
            address: str | None = None) -> None:
    ray = connect_ray(processes, address)
    remote = ray.remote(num_cpus=1, max_retries=RAY_MAX_RETRIES)(_ray_call)
    refs = {remote.remote(fn, t.payload): t for t in tasks}
    while refs:
        done, _ = ray.wait(list(refs), num_returns=1, timeout=1.0)
        for ref in done:
            task = refs.pop(ref)
            stats, error = ray.get(ref)
            if stats is not None:
                progress.update(docs=int(stats.get("docs", 0)), nbytes=int(stats.get("chars", 0)))
            on_done(task, stats, error)
