"""Atomic writes: every output is written under ``<name>.tmp-<pid>`` and renamed onto its name only
when complete, so a reader (or a resumed run) never sees a half-written file. This module is the one
place that does the rename. A killed writer leaves its ``.tmp-<pid>`` behind (never under the final name):
:func:`remove_stale_temporaries` clears those of one path before it is written again, and
:func:`sweep_temporaries` those of a whole output folder when its command starts, before any writer runs."""

from __future__ import annotations

import errno
import glob
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dolma_tools.faults import fault_point

#: errors that mean the destination is full: the run stops with one line naming the file (``cli.main``)
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


def is_disk_full(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in DISK_FULL


def temporary_name(path: Path) -> Path:
    """The temporary name of ``path`` for this process (what ``remove_stale_temporaries`` globs)."""
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


_TEMPORARY = re.compile(r"\.tmp-\d+$")


def remove_stale_temporaries(path: str | Path) -> int:
    """Delete ``<path>.tmp-*`` left by a killed writer of ``path`` (never a finished file); the
    count. Call it before writing ``path``: only one writer at a time owns a name."""
    path = Path(path)
    n = 0
    if path.parent.is_dir():
        for tmp in path.parent.glob(glob.escape(path.name) + ".tmp-*"):
            tmp.unlink(missing_ok=True)
            n += 1
    return n


def sweep_temporaries(folder: str | Path, *, recursive: bool = False) -> int:
    """Delete every ``*.tmp-<pid>`` in ``folder`` (and below it with ``recursive``); the count. For a
    folder one command writes, called when it starts: no writer of its own is running yet, and one
    listing of the folder replaces a listing per file written (done-marker folders hold thousands)."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    for p in folder.rglob("*.tmp-*") if recursive else folder.glob("*.tmp-*"):
        if _TEMPORARY.search(p.name) and p.is_file():
            p.unlink(missing_ok=True)
            n += 1
    return n


@contextmanager
def atomic_path(path: str | Path, *, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; when the block completes it is renamed onto
    ``path`` (after an ``fsync`` if asked: for files a crash must not leave empty); on an error it is
    removed and ``path`` is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        fault_point("atomic.before_rename")
        if fsync:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        os.replace(tmp, path)
    except OSError as e:
        if is_disk_full(e) and e.filename is None:  # write() names no file: say which one ran out of room
            raise OSError(e.errno, os.strerror(e.errno), str(path)) from None
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str, *, fsync: bool = False) -> Path:
    """Write UTF-8 ``text`` atomically (newlines as given)."""
    with atomic_path(path, fsync=fsync) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return Path(path)


def write_json_atomic(path: str | Path, obj: Any, *, indent: int | None = None, **dumps: Any) -> Path:
    """``json.dumps(obj)`` plus a newline, written atomically."""
    return write_text_atomic(path, json.dumps(obj, indent=indent, **dumps) + "\n")
