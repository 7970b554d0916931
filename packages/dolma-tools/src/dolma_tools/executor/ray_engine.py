"""Ray as the engine for clusters: the same work functions, one Ray task a file.

Connects to ``address`` (or ``$RAY_ADDRESS``) when given, else starts a local instance. Outputs go
to paths every worker can reach (a shared filesystem), and done-markers are written by the driver,
so resume works the same as with the local pool."""

from __future__ import annotations

import os
from typing import Any

from dolma_tools.executor.local import describe_error
from dolma_tools.executor.tasks import Task, WorkFn, null_reporter


def _ray_call(fn: WorkFn, payload: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return fn(payload, null_reporter), None
    except Exception as e:  # noqa: BLE001 - returned so the driver can name the failing file
        return None, describe_error(e)


def run_ray(fn: WorkFn, tasks: list[Task], processes: int, on_done, progress,  # noqa: ANN001
            address: str | None = None) -> None:
    address = address or os.environ.get("RAY_ADDRESS")
    if not address:
        # Under ``uv run`` Ray would rebuild the project environment for every worker (a zip of the
        # working tree and a ``uv run`` per worker); a local instance shares this one. Read by Ray
        # at import time, hence before the import.
        os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    import ray

    if not ray.is_initialized():
        if address:
            ray.init(address=address, log_to_driver=False)
        else:
            ray.init(num_cpus=processes, include_dashboard=False, log_to_driver=False)
    remote = ray.remote(num_cpus=1, max_retries=1)(_ray_call)
    refs = {remote.remote(fn, t.payload): t for t in tasks}
    while refs:
        done, _ = ray.wait(list(refs), num_returns=1, timeout=1.0)
        for ref in done:
            task = refs.pop(ref)
            stats, error = ray.get(ref)
            if stats is not None:
                progress.update(docs=int(stats.get("docs", 0)), nbytes=int(stats.get("chars", 0)))
            on_done(task, stats, error)
