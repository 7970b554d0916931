"""Atomic writes: every olmoe output (``analysis.json``, figures, the routing-metrics log when a
resumed run trims it) is written under ``<name>.tmp-<pid>`` and renamed onto its name only when
complete, so a reader never sees a half-written file. The one place olmoe does the rename."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` to write; when the block completes it is renamed onto
    ``path``; on an error it is removed and ``path`` is untouched. (The temporary name does not end in
    the file's suffix: writers that pick a format from it, like ``savefig``, must be told the format.)"""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomic(path: str | Path, text: str) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)
