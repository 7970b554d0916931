"""``ordered_map``: a map in input order over a local process pool or Ray tasks.

The stages whose results are combined in a fixed order (Bloom dedup's filter, MinHash's signature
and bucket stages, decontamination's scans, tokenization's units) share the same work functions
on both engines; only where they run changes. With Ray each item is one task (``max_retries``:
a task whose worker process dies is run again, and every work function writes its outputs
atomically, so a retry replaces what the dead attempt left); the driver keeps at most a few tasks
per CPU in flight and yields results in input order, so whatever the driver folds them into (a
filter, a union-find, a report) is built exactly as by the local pool."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

EXECUTORS = ("local", "ray")
#: retries of a Ray task whose worker died (a killed or lost process, not an exception in the work)
RAY_MAX_RETRIES = 3


def ordered_map(fn: Callable[[T], R], items: Iterable[T], processes: int = 1, *, executor: str = "local",
                ray_address: str | None = None) -> Iterator[R]:
    """``map(fn, items)`` in input order; ``fn`` must be a module-level function (it is pickled)."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor must be one of {EXECUTORS}, got {executor!r}")
    items = list(items)
    if executor == "ray":
        yield from _ray_map(fn, items, processes, ray_address)
        return
    if processes <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    with ctx.Pool(min(processes, len(items))) as pool:
        yield from pool.imap(fn, items, chunksize=1)


def connect_ray(processes: int | None = None, address: str | None = None) -> Any:
    """The ``ray`` module, connected: to ``address`` / ``$RAY_ADDRESS`` when given, else to the
    instance this process already started, else to a new local one with ``processes`` CPUs."""
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
            ray.init(num_cpus=max(1, processes or 1), include_dashboard=False, log_to_driver=False)
    return ray


#: chaos tests: a folder. A task whose work function ``NAME`` finds ``NAME.armed`` there, and is the
#: first to create ``NAME.fired`` (holding its pid), kills its own Ray worker once across all workers:
#: an empty ``.armed`` SIGKILLs it after the work is done (outputs written, result lost); one holding a
#: fault spec (``atomic.before_rename:2``) sets ``OLMO_STACK_FAULT`` for that call, so the worker (its
#: own process group under Ray) dies inside a write. Unset, this costs one lookup.
KILL_ONCE_ENV = "DOLMA_TOOLS_RAY_KILL_ONCE"
_FAULT_ENV = "OLMO_STACK_FAULT"


def work_name(fn: Callable[..., Any]) -> str:
    return getattr(getattr(fn, "func", fn), "__name__", "work")


def _claim_kill(fn: Callable[..., Any]) -> str | None:
    """The armed spec if this call is the one to die (``""``: after the work), else None."""
    folder = os.environ.get(KILL_ONCE_ENV)
    if not folder:
        return None
    name = work_name(fn)
    armed = os.path.join(folder, f"{name}.armed")
    if not os.path.exists(armed):
        return None
    try:
        fd = os.open(os.path.join(folder, f"{name}.fired"), os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return None
    os.write(fd, str(os.getpid()).encode())
    os.close(fd)
    with open(armed, encoding="utf-8") as f:
        return f.read().strip()


def _call(fn: Callable[[T], R], item: T) -> R:
    spec = _claim_kill(fn)
    if not spec:
        out = fn(item)
        if spec == "":
            os.kill(os.getpid(), signal.SIGKILL)
        return out
    os.environ[_FAULT_ENV] = spec
    try:
        return fn(item)
    finally:
        os.environ.pop(_FAULT_ENV, None)


def _ray_map(fn: Callable[[T], R], items: list[T], processes: int, address: str | None) -> Iterator[R]:
    ray = connect_ray(processes, address)
    remote = ray.remote(num_cpus=1, max_retries=RAY_MAX_RETRIES)(_call)
    fn_ref = ray.put(fn)
    window = max(2, 2 * int(ray.cluster_resources().get("CPU", 1)))  # bounded: results wait in order
    pending: deque = deque()
    it = iter(items)
    try:
        for item in it:
            pending.append(remote.remote(fn_ref, item))
            if len(pending) >= window:
                yield ray.get(pending.popleft())
        while pending:
            yield ray.get(pending.popleft())
    finally:
        for ref in pending:  # stopped early (an error): queued tasks never start
            ray.cancel(ref)
