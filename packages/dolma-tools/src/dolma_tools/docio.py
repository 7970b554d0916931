"""Streaming reads and atomic writes of Dolma document files: JSON lines (plain, ``.gz`` or ``.zst``)
and Parquet (through pyarrow, read a row group batch at a time).

Memory does not grow with shard size: lines are decoded one at a time. Every error names the file
and the 1-based line (the 1-based row for Parquet); a truncated compressed file is an error, never a
silent short read. :func:`read_documents` adds the policy for bad input: raise (default) or skip and
count each bad line in an :class:`ErrorLog`, so that nothing is dropped silently.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import zstandard

from dolma_tools.atomic import atomic_path
from dolma_tools.interfaces import Document, FormatError

JSONL_SUFFIXES = (".jsonl", ".json", ".jsonl.gz", ".json.gz", ".jsonl.zst", ".json.zst")
PARQUET_SUFFIXES = (".parquet",)
DOCUMENT_SUFFIXES = JSONL_SUFFIXES + PARQUET_SUFFIXES


def open_text_read(path: str | Path) -> IO[bytes]:
    """A binary stream of the decompressed content, chosen by extension."""
    path = Path(path)
    if path.suffix == ".gz":
        return gzip.open(path, "rb")
    if path.suffix == ".zst":
        return io.BufferedReader(_ZstdReader(path), buffer_size=1 << 20)
    return open(path, "rb")


class _ZstdReader(io.RawIOBase):
    """Decompresses every frame of a ``.zst`` file and, unlike ``stream_reader``, raises when the
    file ends inside a frame: a truncated file must never pass for a short one."""

    def __init__(self, path: str | Path, chunk: int = 1 << 16) -> None:
        # 64 KiB of compressed input a step: text expands ~5-10x, so a 1 MiB step held ~10 MiB of
        # output (and a copy of it per read); the output is consumed through an offset, never copied
        self._f = open(path, "rb")  # noqa: SIM115 - closed in close()
        self._chunk = chunk
        self._dctx = zstandard.ZstdDecompressor()
        self._dobj = self._dctx.decompressobj()
        self._in_frame = False
        self._buf = b""
        self._pos = 0

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        while self._pos >= len(self._buf):
            self._buf, self._pos = b"", 0
            data = self._f.read(self._chunk)
            if not data:
                if self._in_frame:
                    raise zstandard.ZstdError("truncated .zst file: the last frame is incomplete")
                return False
            while data:
                self._in_frame = True
                out = self._dobj.decompress(data)
                self._buf += out
                if self._dobj.eof:
                    data = self._dobj.unused_data
                    self._dobj = self._dctx.decompressobj()
                    self._in_frame = False
                else:
                    data = b""
        return True

    def readinto(self, b) -> int:  # noqa: ANN001
        if not self._fill():
            return 0
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = memoryview(self._buf)[self._pos:self._pos + n]
        self._pos += n
        return n

    def close(self) -> None:
        self._f.close()
        super().close()


def iter_json_lines(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, obj)``; blank lines are skipped, anything else must be JSON in UTF-8."""
    for lineno, obj in _iter_json_lines_tolerant(path):
        if isinstance(obj, FormatError):
            raise obj
        yield lineno, obj


def _iter_json_lines_tolerant(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Like :func:`iter_json_lines` but a bad line is yielded as a :class:`FormatError` value so the
    caller may skip it and go on (a generator that raises cannot be resumed). A broken stream
    (truncated or corrupt compression) is yielded with ``line=None`` and ends the file."""
    path = Path(path)
    lineno = 0
    try:
        with open_text_read(path) as raw:
            for lineno, line in enumerate(raw, start=1):
                if not line.strip():
                    continue
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError as e:
                    yield lineno, FormatError(f"invalid UTF-8 at byte {e.start}", path=path, line=lineno)
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as e:
                    yield lineno, FormatError(f"malformed JSON: {e.msg} at column {e.colno}", path=path,
                                              line=lineno)
                    continue
                yield lineno, obj
    except (EOFError, zlib.error, gzip.BadGzipFile, zstandard.ZstdError) as e:
        yield lineno, FormatError(f"corrupt or truncated compressed file after line {lineno}: {e}", path=path)


def iter_parquet_rows(path: str | Path, batch_size: int = 1024) -> Iterator[tuple[int, Any]]:
    """Yield ``(row_number, dict)`` from a Parquet file, one record batch in memory at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(path)
        row = 0
        for batch in pf.iter_batches(batch_size=batch_size):
            for rec in batch.to_pylist():
                row += 1
                meta = rec.get("metadata")
                if isinstance(meta, str):  # written by write_parquet_documents as JSON text
                    try:
                        rec["metadata"] = json.loads(meta) if meta else {}
                    except json.JSONDecodeError as e:
                        raise FormatError(f"metadata is not JSON: {e}", path=path, line=row,
                                          field="metadata") from e
                yield row, rec
    except (pa.ArrowInvalid, OSError) as e:
        raise FormatError(f"unreadable Parquet file: {e}", path=path) from e


def iter_records(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Raw records of a document or attributes file, by extension: Parquet rows or JSON lines."""
    if str(path).endswith(PARQUET_SUFFIXES):
        return iter_parquet_rows(path)
    return iter_json_lines(path)


def iter_documents(path: str | Path) -> Iterator[tuple[int, Document]]:
    """Yield ``(line_number, Document)`` from one document file, validating each line."""
    for lineno, obj in iter_records(path):
        yield lineno, Document.from_json(obj, path=path, line=lineno)


def expand_inputs(inputs: str | Path | Iterable[str | Path]) -> list[Path]:
    """Globs, folders (searched recursively for document files, hidden ones left out) and files,
    sorted and deduplicated."""
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    found: set[Path] = set()
    for item in items:
        s = str(item)
        p = Path(s)
        if any(ch in s for ch in "*?["):
            found.update(Path(m) for m in glob.glob(s, recursive=True) if os.path.isfile(m))
        elif p.is_dir():
            # hidden entries (done-markers in ``.done/``, editor files) are never documents
            found.update(f for f in p.rglob("*") if f.is_file() and f.name.endswith(DOCUMENT_SUFFIXES)
                         and not any(part.startswith(".") for part in f.relative_to(p).parts))
        elif p.is_file():
            found.add(p)
        else:
            raise FileNotFoundError(f"input {s!r} matches no file")
    return sorted(found)


@contextmanager
def atomic_output(path: str | Path, mode: str = "wb", compresslevel: int | None = None) -> Iterator[IO[Any]]:
    """A file object on a temporary name, renamed onto ``path`` only when the block completes (see
    :mod:`dolma_tools.atomic`), so a reader never sees a half-written file. Compression is chosen by
    the final name's extension; ``compresslevel`` defaults to 6 for gzip and 3 for zstd."""
    path = Path(path)
    with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as raw:
        if path.suffix == ".gz":
            inner: IO[Any] = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0,
                                           compresslevel=6 if compresslevel is None else compresslevel)
        elif path.suffix == ".zst":
            inner = zstandard.ZstdCompressor(level=3 if compresslevel is None else compresslevel
                                             ).stream_writer(raw, closefd=False)
        else:
            inner = raw
        # A lone surrogate (JSON allows "\\ud800") cannot be UTF-8; written as a backslash escape it
        # is the same JSON escape again, so JSON lines round-trip.
        text = (io.TextIOWrapper(inner, encoding="utf-8", errors="backslashreplace", newline="\n")
                if "b" not in mode else None)
        yield text if text is not None else inner
        if text is not None:
            text.flush()
            text.detach()
        if inner is not raw:
            inner.close()  # writes the compressed trailer; leaves ``raw`` open


def write_documents(path: str | Path, docs: Iterable[Document | dict[str, Any]]) -> int:
    """Write documents atomically (JSON lines, or Parquet for ``.parquet``); returns the count."""
    if str(path).endswith(PARQUET_SUFFIXES):
        return write_parquet_documents(path, docs)
    n = 0
    with atomic_output(path, "w") as f:
        for doc in docs:
            obj = doc.to_json() if isinstance(doc, Document) else doc
            f.write(json.dumps(obj, ensure_ascii=False) + "\n")
            n += 1
    return n


def _columns(rows: list[dict[str, Any]], schema: Any) -> Any:
    # Through pyarrow's JSON reader rather than ``pa.array(list)``: the latter imports pandas on
    # first use (seconds), the reader does not.
    import pyarrow.json as pj

    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")
    return pj.read_json(io.BytesIO(data), parse_options=pj.ParseOptions(explicit_schema=schema),
                        read_options=pj.ReadOptions(block_size=max(1 << 20, len(data) + 1)))


def write_parquet_documents(path: str | Path, docs: Iterable[Document | dict[str, Any]],
                            rows_per_group: int = 4096) -> int:
    """Parquet with the Dolma columns (``metadata`` as a JSON string, so any object round-trips)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.schema([("id", pa.string()), ("text", pa.string()), ("source", pa.string()),
                        ("added", pa.string()), ("created", pa.string()), ("metadata", pa.string())])
    n = 0
    batch: list[dict[str, Any]] = []
    # pyarrow writes a path natively; through a Python file object it is many times slower.
    with atomic_path(path) as tmp, pq.ParquetWriter(str(tmp), schema) as writer:
        for doc in docs:
            obj = doc.to_json() if isinstance(doc, Document) else dict(doc)
            obj["metadata"] = json.dumps(obj.get("metadata") or {}, ensure_ascii=False)
            batch.append({k: obj.get(k) for k in schema.names})
            n += 1
            if len(batch) >= rows_per_group:
                writer.write_table(_columns(batch, schema))
                batch.clear()
        if batch:
            writer.write_table(_columns(batch, schema))
    return n


# --------------------------------------------------------------------------------------------
# Bad-input policy
# --------------------------------------------------------------------------------------------

ON_ERROR_CHOICES = ("raise", "skip")


@dataclass
class ErrorLog:
    """What ``on_error="skip"`` skipped: counts by kind and the first messages (file and line)."""

    counts: dict[str, int] = field(default_factory=dict)
    messages: list[str] = field(default_factory=list)
    max_messages: int = 20

    def add(self, kind: str, message: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if len(self.messages) < self.max_messages:
            self.messages.append(message)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def merge(self, other: ErrorLog | dict[str, Any]) -> None:
        counts = other.counts if isinstance(other, ErrorLog) else other.get("counts", {})
        messages = other.messages if isinstance(other, ErrorLog) else other.get("messages", [])
        for k, v in counts.items():
            self.counts[k] = self.counts.get(k, 0) + v
        self.messages.extend(messages[: max(0, self.max_messages - len(self.messages))])

    def to_json(self) -> dict[str, Any]:
        return {"counts": dict(self.counts), "messages": list(self.messages)}


def _error_kind(error: FormatError) -> str:
    message = str(error)
    if "missing required field" in message and error.field:
        return f"missing_{error.field}"
    for key, kind in (("invalid UTF-8", "invalid_utf8"), ("malformed JSON", "malformed_json"), ("truncated", "truncated_file"),
                      ("duplicate id", "duplicate_id"), ("empty file", "empty_file"),
                      ("Parquet", "bad_parquet")):
        if key in message:
            return kind
    return "bad_document"


def read_documents(path: str | Path, *, on_error: str = "raise", errors: ErrorLog | None = None,
                   check_duplicate_ids: bool = True) -> Iterator[tuple[int, Document]]:
    """Documents of one file with the bad-input policy applied.

    ``on_error="raise"``: the first bad line raises :class:`FormatError` naming file and line.
    ``on_error="skip"``: bad lines are skipped and counted in ``errors`` by kind (``malformed_json``,
    ``invalid_utf8``, ``missing_id``/``missing_text``, ``duplicate_id``, ``truncated_file`` (the rest of the file
    is lost and counted once), ``empty_file``). Duplicate ids are checked within the file."""
    if on_error not in ON_ERROR_CHOICES:
        raise ValueError(f"on_error must be one of {ON_ERROR_CHOICES}, got {on_error!r}")
    errors = errors if errors is not None else ErrorLog()
    seen: dict[str, int] = {}
    n = bad = 0
    records = (iter_parquet_rows(path) if str(path).endswith(PARQUET_SUFFIXES)
               else _iter_json_lines_tolerant(path))
    while True:
        try:
            try:
                lineno, obj = next(records)
            except StopIteration:
                break
            if isinstance(obj, FormatError):
                raise obj
            doc = Document.from_json(obj, path=path, line=lineno)
            if check_duplicate_ids:
                first = seen.setdefault(doc.id, lineno)
                if first != lineno:
                    raise FormatError(f"duplicate id {doc.id!r} (first seen at line {first})", path=path,
                                      line=lineno, field="id")
        except FormatError as e:
            if on_error == "raise":
                raise
            errors.add(_error_kind(e), str(e))
            bad += 1
            if e.line is None:  # the stream itself is broken: nothing more can be read from it
                return
            continue
        n += 1
        yield lineno, doc
    if n == 0 and bad == 0:
        e = FormatError("empty file: no documents", path=path)
        if on_error == "raise":
            raise e
        errors.add("empty_file", str(e))


def expand_inputs_with_base(inputs: str | Path | Iterable[str | Path]) -> list[tuple[Path, Path]]:
    """Like :func:`expand_inputs`, with the folder each file is relative to: the folder given, the
    part of a glob before its first wildcard, or a single file's parent. Outputs mirror ``rel``."""
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    out: dict[Path, Path] = {}
    for item in items:
        s = str(item)
        if any(ch in s for ch in "*?["):
            head = s[: min(s.index(ch) for ch in "*?[" if ch in s)]
            base = Path(head) if head.endswith(os.sep) else Path(head).parent
        elif Path(s).is_dir():
            base = Path(s)
        else:
            base = Path(s).parent
        for p in expand_inputs(s):
            out.setdefault(p, base)
    return sorted(out.items())


def attributes_file(doc_path: str | Path, attribute_set: str, *, base: str | Path | None = None,
                    attributes_root: str | Path | None = None) -> Path:
    """Where the attributes of ``doc_path`` live. With ``attributes_root``:
    ``<attributes_root>/<set>/<doc_path relative to base>``; otherwise the Dolma layout
    (``.../documents/<rel>`` -> ``.../attributes/<set>/<rel>``). Parquet documents get JSON-lines
    attributes (``x.parquet`` -> ``x.jsonl.zst``)."""
    if attributes_root is not None:
        rel = Path(doc_path).relative_to(base) if base is not None else Path(Path(doc_path).name)
        out = Path(attributes_root, attribute_set, rel)
    else:
        from dolma_tools.interfaces import attributes_path

        out = attributes_path(doc_path, attribute_set)
    if out.name.endswith(PARQUET_SUFFIXES):
        out = out.with_name(out.name[: -len(".parquet")] + ".jsonl.zst")
    return out


def iter_attributes(path: str | Path) -> Iterator[tuple[int, Any]]:
    """Attribute records of one attributes file, validated (file and line named on error)."""
    from dolma_tools.interfaces import AttributeRecord

    for lineno, obj in iter_json_lines(path):
        yield lineno, AttributeRecord.from_json(obj, path=path, line=lineno)
