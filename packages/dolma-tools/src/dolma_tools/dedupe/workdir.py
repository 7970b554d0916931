"""Work folders (MinHash's stage files, Bloom dedup's spool): named for their owner, swept once the
owner is dead.

The folder is ``<parent>/<prefix><host>-<pid>-<random>`` (prefix ``minhash-`` or ``dedupe-spool-``) (``parent``: ``--work-dir`` or the system
temp). A run removes it in a ``finally``, which a SIGKILL skips; so every run first removes the
folders of this host whose process no longer exists. A folder kept on purpose (``keep_work``) holds
a ``KEEP`` file and is never swept; folders of other hosts (a shared ``--work-dir``) are left to
their own host's runs."""

from __future__ import annotations

import os
import re
import shutil
import socket
import tempfile
from pathlib import Path

PREFIX = "minhash-"
KEEP = "KEEP"


def _name(prefix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(prefix)}(?P<host>.+)-(?P<pid>\d+)-[^-]+$")


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "_", socket.gethostname()) or "host"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def sweep_dead(parent: Path, prefix: str = PREFIX) -> list[Path]:
    """Remove the ``prefix`` folders under ``parent`` left by dead processes of this host; return them."""
    removed = []
    host, name = _host(), _name(prefix)
    if not parent.is_dir():
        return removed
    for child in parent.glob(f"{prefix}*"):
        m = name.match(child.name)
        if (m is None or m["host"] != host or not child.is_dir() or (child / KEEP).exists()
                or int(m["pid"]) == os.getpid() or pid_alive(int(m["pid"]))):
            continue
        shutil.rmtree(child, ignore_errors=True)
        removed.append(child)
    return removed


def make_work_dir(work_dir: str | Path | None, prefix: str = PREFIX) -> Path:
    """A new ``prefix`` folder under ``work_dir`` (default: the system temp), after sweeping dead ones."""
    parent = Path(work_dir) if work_dir else Path(tempfile.gettempdir())
    parent.mkdir(parents=True, exist_ok=True)
    sweep_dead(parent, prefix)
    return Path(tempfile.mkdtemp(prefix=f"{prefix}{_host()}-{os.getpid()}-", dir=parent))


def keep(work: Path) -> None:
    (work / KEEP).write_text("kept by keep_work: never swept\n")
