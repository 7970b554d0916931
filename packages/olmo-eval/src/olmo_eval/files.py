"""The package's file helpers: every output is written under a temporary name and renamed into place
(:func:`atomic_write`), so a killed run never leaves a half-written file that a rerun would trust;
one digest of JSON-able values (:func:`digest`); one reader of gzip JSON lines that names the file and
line of any error (:func:`read_jsonl_gz`)."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from olmo_eval.faults import fault_point


class _GzipText:
    """``write(str)`` onto a gzip stream as UTF-8. Not a TextIOWrapper: its flush on close would make
    gzip end a deflate block early, and equal contents would no longer give equal bytes."""

    def __init__(self, gz: gzip.GzipFile) -> None:
        self.gz = gz

    def write(self, text: str) -> int:
        return self.gz.write(text.encode("utf-8"))


@contextlib.contextmanager
def atomic_write(path: str | Path, *, gzip_level: int | None = None) -> Iterator[IO[str]]:
    """A text file open on ``<path>.tmp``, renamed to ``path`` when the block ends without error
    (removed otherwise). ``gzip_level``: write gzip at that level, with a zero timestamp so equal
    contents give equal bytes."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    try:
        if gzip_level is None:
            with open(tmp, "w", encoding="utf-8") as f:
                yield f
        else:
            with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=gzip_level,
                                                       mtime=0) as gz:
                yield _GzipText(gz)  # type: ignore[misc]
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fault_point("atomic.before_rename")
    os.replace(tmp, path)


def write_json(path: str | Path, obj: Any, *, indent: int | None = 2, ensure_ascii: bool = False,
               default: Callable[[Any], Any] | None = None) -> Path:
    with atomic_write(path) as f:
        f.write(json.dumps(obj, indent=indent, ensure_ascii=ensure_ascii, default=default) + "\n")
    return Path(path)


def write_jsonl(path: str | Path, rows: Iterable[Any], *, gzip_level: int | None = 9, compact: bool = False) -> Path:
    """One JSON object per line (gzip unless ``gzip_level`` is None); ``compact``: no spaces."""
    separators = (",", ":") if compact else None
    with atomic_write(path, gzip_level=gzip_level) as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False, separators=separators) + "\n")
    return Path(path)


def read_jsonl_gz(path: str | Path, error: type[ValueError] = ValueError) -> Iterator[tuple[int, Any]]:
    """``(line number, object)`` of each line of a gzip JSON-lines file; a missing, truncated or
    malformed file raises ``error`` naming the file (and line)."""
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: no such file")
    try:
        with gzip.open(path, "rb") as f:  # decoded line by line, so invalid UTF-8 is placed on its line
            for lineno, line in enumerate(f, 1):
                try:
                    obj = json.loads(line.decode("utf-8"))
                except UnicodeDecodeError as e:
                    raise error(f"{path}:{lineno}: invalid UTF-8 at byte {e.start}") from None
                except json.JSONDecodeError as e:
                    raise error(f"{path}:{lineno}: malformed JSON ({e})") from e
                yield lineno, obj
    except (OSError, EOFError) as e:
        raise error(f"{path}: unreadable or truncated ({e})") from e


def digest(obj: Any, length: int = 16) -> str:
    """Hex SHA-256 of ``obj`` as canonical JSON (sorted keys, ``str`` for anything else), cut to
    ``length``: the config hashes that decide whether a finished result may be reused."""
    blob = json.dumps(obj, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:length]
