"""Files written whole or not at all: every write goes to a temporary name beside the target and is
renamed over it, so a reader (or a resumed run) never sees half a file."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from olmo_core.faults import fault_point


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside ``path`` for a writer that needs a file name (safetensors, matplotlib);
    renamed over ``path`` when the block ends, removed if it raises. The folder is made if missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale_temporaries(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        commit(tmp, path)
    except BaseException:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            tmp.unlink(missing_ok=True)
        raise


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's live process
    return True


def sweep_stale_temporaries(path: str | Path) -> list[Path]:
    """Remove the temporaries a killed writer of ``path`` left (``.<name>.tmp-<pid>`` whose process is
    gone), so a kill mid-write leaves nothing behind once the file is written again; a live writer's
    temporary is left alone."""
    path = Path(path)
    removed = []
    prefix = f".{path.name}.tmp-"
    if not path.parent.is_dir():
        return removed
    for p in path.parent.iterdir():
        pid = p.name[len(prefix):]
        if p.name.startswith(prefix) and pid.isdigit() and int(pid) != os.getpid() and not _pid_alive(int(pid)):
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def commit(tmp: str | Path, path: str | Path) -> Path:
    """Rename a finished temporary file or folder over ``path``; a folder already at ``path`` is
    removed first (a rename cannot replace a non-empty folder)."""
    tmp, path = Path(tmp), Path(path)
    fault_point("atomic.before_rename")
    if tmp.is_dir() and path.is_dir():
        shutil.rmtree(path)
    os.replace(tmp, path)
    return path


def write_atomic(path: str | Path, data: str | bytes, *, mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` (flushed to disk before the rename); ``mode``: e.g. 0o755."""
    path = Path(path)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        if mode is not None:
            tmp.chmod(mode)
    return path


def write_json_atomic(path: str | Path, obj: Any, *, sort_keys: bool = False) -> Path:
    return write_atomic(path, json.dumps(obj, indent=1, sort_keys=sort_keys, default=str))
