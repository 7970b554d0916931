"""Tasks, done-markers and the run summary shared by every engine.

A task is one unit of work (usually one input file) with a stable ``key``. The work function writes
its outputs atomically (see :func:`dolma_tools.docio.atomic_output`) and returns JSON-able stats;
only then does the driver write the task's done-marker, itself atomically. A run killed midway
therefore leaves each task either finished with a marker (skipped on resume, its stats reloaded) or
unfinished with at most ``*.tmp-<pid>`` leftovers, which the next attempt removes (the task's writer
clears those of its outputs, :class:`DoneMarkers` those of the markers).
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from dolma_tools.atomic import sweep_temporaries
from dolma_tools.docio import atomic_output
from dolma_tools.hashing import sha256_hex


class Reporter(Protocol):
    """Called by work functions as they go: ``report(docs, bytes)`` increments the progress bars."""

    def __call__(self, docs: int = 0, nbytes: int = 0) -> None: ...


#: ``fn(payload, report) -> stats``. Must be a module-level function (it is pickled to workers).
WorkFn = Callable[[dict[str, Any], Reporter], dict[str, Any]]


def null_reporter(docs: int = 0, nbytes: int = 0) -> None:
    """A reporter that drops updates (Ray workers, tests)."""


@dataclass
class Task:
    key: str
    payload: dict[str, Any]
    size: int = 0  # input bytes, for MB/s and for scheduling big files first


@dataclass
class RunSummary:
    description: str
    engine: str
    processes: int
    total: int = 0
    resumed: int = 0
    finished: int = 0
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)
    elapsed_s: float = 0.0
    docs: int = 0
    nbytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {"description": self.description, "engine": self.engine, "processes": self.processes,
                "tasks": self.total, "finished": self.finished, "resumed": self.resumed,
                "failed": len(self.failures), "failures": self.failures, "elapsed_s": round(self.elapsed_s, 3),
                "docs": self.docs, "bytes": self.nbytes,
                "docs_including_resumed": sum(int(s.get("docs", 0)) for s in self.stats.values()),
                "docs_per_s": round(self.docs / self.elapsed_s, 1) if self.elapsed_s else None}


def _marker_name(key: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key)[-120:].lstrip("._")
    return f"{safe}-{sha256_hex(key)[:10]}.done.json"


class DoneMarkers:
    """One JSON file per finished task under ``root``: ``{"key", "stats", "finished_at"}``."""

    def __init__(self, root: str | Path | None) -> None:
        self.root = Path(root) if root is not None else None
        if self.root is not None:  # a marker a killed driver was writing: made once the run starts
            sweep_temporaries(self.root)

    def path(self, key: str) -> Path | None:
        return self.root / _marker_name(key) if self.root is not None else None

    def load(self, key: str) -> dict[str, Any] | None:
        p = self.path(key)
        if p is None or not p.is_file():
            return None
        try:
            obj = json.loads(p.read_text("utf-8"))
        except (OSError, json.JSONDecodeError):
            return None  # an unreadable marker counts as unfinished: the task runs again
        return obj.get("stats", {}) if obj.get("key") == key else None

    def mark(self, key: str, stats: dict[str, Any]) -> None:
        p = self.path(key)
        if p is None:
            return
        with atomic_output(p, "w") as f:
            json.dump({"key": key, "stats": stats, "finished_at": time.time()}, f)


def default_processes() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
