"""Atomic writes: every output is written under ``<name>.tmp-<pid>`` and renamed onto its name only
when complete, so a reader (or a resumed run) never sees a half-written file. This module is the one
place that does the rename; :func:`dolma_tools.docio.remove_stale_temporaries` cleans the
``.tmp-<pid>`` leftovers of a killed writer."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dolma_tools.faults import fault_point


def temporary_name(path: Path) -> Path:
    """The temporary name of ``path`` for this process (what ``remove_stale_temporaries`` globs)."""
    return path.with_name(f"{path.name}.tmp-{os.getpid()}")


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
