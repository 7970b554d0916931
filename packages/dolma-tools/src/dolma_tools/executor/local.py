"""The default engine: a local process pool, one task a file, every core busy."""

from __future__ import annotations

import multiprocessing as mp
import queue
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Any

from dolma_tools.atomic import is_disk_full
from dolma_tools.executor.tasks import Task, WorkFn, null_reporter
from dolma_tools.interfaces import FormatError

_QUEUE: Any = None


class _QueueReporter:
    """Batches progress updates so workers do not flood the queue."""

    def __init__(self, q: Any, every: int = 200) -> None:
        self.q, self.every, self.docs, self.nbytes = q, every, 0, 0

    def __call__(self, docs: int = 0, nbytes: int = 0) -> None:
        self.docs += docs
        self.nbytes += nbytes
        if self.docs >= self.every:
            self.flush()

    def flush(self) -> None:
        if self.docs or self.nbytes:
            self.q.put((self.docs, self.nbytes))
            self.docs = self.nbytes = 0


def _init_worker(q: Any) -> None:
    global _QUEUE
    _QUEUE = q


def describe_error(e: BaseException) -> str:
    """Bad input keeps its located message; anything else gets its traceback tail."""
    if isinstance(e, FormatError | FileNotFoundError):
        return str(e)
    return f"{type(e).__name__}: {e}\n{''.join(traceback.format_exception(e)[-3:])}"


def _run_one(fn: WorkFn, payload: dict[str, Any]) -> dict[str, Any]:
    reporter = _QueueReporter(_QUEUE) if _QUEUE is not None else null_reporter
    try:
        return fn(payload, reporter)
    finally:
        if isinstance(reporter, _QueueReporter):
            reporter.flush()


def run_local(fn: WorkFn, tasks: list[Task], processes: int, on_done, progress) -> None:  # noqa: ANN001
    """Run ``tasks``; ``on_done(task, stats, error)`` is called in the driver as each one ends. A
    full disk is no fault of one file: it stops the run (raised, naming the file being written)."""
    if processes <= 1 or len(tasks) <= 1:
        for task in tasks:
            try:
                stats = fn(task.payload, lambda docs=0, nbytes=0: progress.update(docs=docs, nbytes=nbytes))
            except Exception as e:  # noqa: BLE001 - reported per task in the summary
                if is_disk_full(e):
                    raise
                on_done(task, None, describe_error(e))
            else:
                on_done(task, stats, None)
        return
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    with ProcessPoolExecutor(max_workers=processes, mp_context=ctx, initializer=_init_worker,
                             initargs=(q,)) as pool:
        try:
            pending: dict[Future, Task] = {pool.submit(_run_one, fn, t.payload): t for t in tasks}
            while pending:
                done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                _drain(q, progress)
                for fut in done:
                    task = pending.pop(fut)
                    try:
                        stats = fut.result()
                    except Exception as e:  # noqa: BLE001
                        if is_disk_full(e):
                            raise
                        on_done(task, None, describe_error(e))
                    else:
                        on_done(task, stats, None)
            _drain(q, progress)
        except BaseException:
            # Stopping: queued files never start, running ones end (their writers remove their
            # temporaries) before the error goes up; without this the pool would run every queued file.
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def _drain(q: Any, progress) -> None:  # noqa: ANN001
    while True:
        try:
            docs, nbytes = q.get_nowait()
        except queue.Empty:
            return
        progress.update(docs=docs, nbytes=nbytes)
