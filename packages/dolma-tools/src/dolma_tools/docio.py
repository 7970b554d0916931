"""Streaming reads and atomic writes of Dolma document files (JSON lines, plain, ``.gz`` or ``.zst``).

Memory does not grow with shard size: lines are decoded one at a time. Every error names the file
and the 1-based line; a truncated compressed file is an error, never a silent short read.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import os
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import zstandard

from dolma_tools.interfaces import Document, FormatError

JSONL_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json.zst")


def open_text_read(path: str | Path) -> IO[bytes]:
    """A binary stream of the decompressed content, chosen by extension."""
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".zst":
        raw = open(path, "rb")
        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True, closefd=True)
    return open(path, "rb")


def iter_json_lines(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, obj)``; blank lines are skipped, anything else must be JSON in UTF-8."""
    path = Path(path)
    lineno = 0
    try:
        with open_text_read(path) as raw:
            for lineno, line in enumerate(io.BufferedReader(raw, buffer_size=1 << 20)  # type: ignore[arg-type]
                                          if path.suffix == ".zst" else raw, start=1):
                if not line.strip():
                    continue
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as e:
                    raise FormatError(f"invalid UTF-8 at byte {e.start}", path=path, line=lineno) from e
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    raise FormatError(f"malformed JSON: {e.msg} at column {e.colno}", path=path,
                                      line=lineno) from e
                yield lineno, obj
    except (EOFError, zlib.error, gzip.BadGzipFile, zstandard.ZstdError) as e:
        raise FormatError(f"corrupt or truncated compressed file after line {lineno}: {e}", path=path) from e


def iter_documents(path: str | Path) -> Iterator[tuple[int, Document]]:
    """Yield ``(line_number, Document)`` from one document file, validating each line."""
    for lineno, obj in iter_json_lines(path):
        yield lineno, Document.from_json(obj, path=path, line=lineno)


def expand_inputs(inputs: str | Path | Iterable[str | Path]) -> list[Path]:
    """Globs, folders (searched recursively for JSON-lines files) and files, sorted and deduplicated."""
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    found: set[Path] = set()
    for item in items:
        s = str(item)
        p = Path(s)
        if any(ch in s for ch in "*?["):
            found.update(Path(m) for m in glob.glob(s, recursive=True) if os.path.isfile(m))
        elif p.is_dir():
            found.update(f for f in p.rglob("*") if f.is_file() and f.name.endswith(JSONL_SUFFIXES))
        elif p.is_file():
            found.add(p)
        else:
            raise FileNotFoundError(f"input {s!r} matches no file")
    return sorted(found)


@contextmanager
def atomic_output(path: str | Path, mode: str = "wb") -> Iterator[IO[Any]]:
    """Write to ``<path>.tmp-<pid>`` and rename onto ``path`` only when the block completes, so a
    reader never sees a half-written file. Compression is chosen by the final name's extension."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as raw:
            if path.suffix == ".gz":
                inner: IO[Any] = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)
            elif path.suffix == ".zst":
                inner = zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
            else:
                inner = raw
            text = io.TextIOWrapper(inner, encoding="utf-8", newline="\n") if "b" not in mode else None
            yield text if text is not None else inner
            if text is not None:
                text.flush()
                text.detach()
            if inner is not raw:
                inner.close()  # writes the compressed trailer; leaves ``raw`` open
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_documents(path: str | Path, docs: Iterable[Document | dict[str, Any]]) -> int:
    """Write documents as JSON lines atomically; returns the count."""
    n = 0
    with atomic_output(path, "w") as f:
        for doc in docs:
            obj = doc.to_json() if isinstance(doc, Document) else doc
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    return n
