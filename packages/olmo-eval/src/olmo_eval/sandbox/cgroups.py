"""Limits for a whole sandbox from cgroup v2, where a writable cgroup with the ``memory`` and
``pids`` controllers has been delegated to us (``systemd-run --user -p Delegate=yes``, a container
with its own cgroup namespace...). Elsewhere (cgroup v1 machines, or no delegation) the harness
falls back to resource limits: see ``programs.py``.

With a cgroup, ``memory.max`` bounds every process of the sandbox together, tmpfs pages included,
``pids.max`` its tasks, and ``cgroup.kill`` ends all of them at once.
"""

from __future__ import annotations

import itertools
import logging
import os
import time
from pathlib import Path

log = logging.getLogger(__name__)
NEEDED = {"memory", "pids"}
_counter = itertools.count()


def _cgroup2_mounts() -> list[Path]:
    mounts = []
    try:
        with open("/proc/self/mountinfo") as fh:
            for line in fh:
                left, _, right = line.partition(" - ")
                if right.split()[:1] == ["cgroup2"]:
                    mounts.append(Path(left.split()[4].encode().decode("unicode_escape")))
    except OSError:
        pass
    return mounts


def _own_cgroup() -> str | None:
    try:
        with open("/proc/self/cgroup") as fh:
            for line in fh:
                if line.startswith("0::"):
                    return line[3:].strip()
    except OSError:
        pass
    return None


def is_cgroup2(path: Path) -> bool:
    path = path.resolve()
    return any(path == m or m in path.parents for m in _cgroup2_mounts())


def prepare(base: Path) -> Path | None:
    """``base`` if sandboxes can be made below it: it offers memory and pids, and they are (or can
    be) enabled for its children. Enabling them requires ``base`` to hold no process (the "no
    internal processes" rule); we move only our own process into a leaf, never anyone else's."""
    try:
        offered = set((base / "cgroup.controllers").read_text().split())
        if not NEEDED <= offered or not os.access(base, os.W_OK):
            return None
        enabled = set((base / "cgroup.subtree_control").read_text().split())
        if not NEEDED <= enabled:
            procs = (base / "cgroup.procs").read_text().split()
            if procs and procs != [str(os.getpid())]:
                return None
            if procs:
                leaf = base / "olmo-eval-harness"
                leaf.mkdir(exist_ok=True)
                (leaf / "cgroup.procs").write_text(str(os.getpid()))
            (base / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in sorted(NEEDED)))
    except OSError as exc:
        log.info("cgroup %s not usable for the sandbox: %s", base, exc)
        return None
    return base


def find_delegated(setting: str) -> Path | None:
    """``setting``: ``off``, ``auto`` (our own cgroup v2, if delegated) or a cgroup v2 directory."""
    if setting == "off":
        return None
    if setting == "auto":
        own = _own_cgroup()
        candidates = [m / own.lstrip("/") for m in _cgroup2_mounts()] if own is not None else []
    else:
        path = Path(setting)
        if not is_cgroup2(path):
            raise ValueError(f"--sandbox-cgroup {setting}: not a directory on a cgroup v2 file system")
        candidates = [path]
    for base in candidates:
        if base.is_dir() and prepare(base) is not None:
            return base
    return None


class SandboxCgroup:
    """One sandbox's cgroup below a prepared ``base``."""

    def __init__(self, base: Path, memory_bytes: int, pids: int):
        self.path = base / f"olmo-eval-sbx-{os.getpid()}-{next(_counter)}"
        self.path.mkdir()
        (self.path / "memory.max").write_text(str(memory_bytes))
        swap = self.path / "memory.swap.max"
        if swap.exists():
            swap.write_text("0")
        (self.path / "pids.max").write_text(str(pids))

    @property
    def procs(self) -> str:
        return str(self.path / "cgroup.procs")

    def events(self) -> dict[str, int]:
        """Counters of ``memory.events`` (``oom_kill`` tells a memory kill from other deaths)."""
        try:
            pairs = (line.split() for line in (self.path / "memory.events").read_text().splitlines())
            return {k: int(v) for k, v in pairs}
        except (OSError, ValueError):
            return {}

    def remove(self, timeout: float = 5.0) -> None:
        kill = self.path / "cgroup.kill"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if kill.exists():
                    kill.write_text("1")
                self.path.rmdir()
                return
            except OSError:
                if time.monotonic() > deadline:
                    log.warning("could not remove sandbox cgroup %s", self.path)
                    return
                time.sleep(0.02)
