"""Hashing for integrity and cache keys: the one place dolma-tools computes a digest (SHA-256)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

_CHUNK = 1 << 20


def _sha256(data: bytes | bytearray | memoryview = b"") -> Any:
    # hashlib is imported on first use: it loads OpenSSL's libcrypto, 3.5 MiB resident in every
    # process that imports this module, and the processes that only stream data (Bloom dedup's
    # filter owner among them) never compute a digest
    import hashlib

    return hashlib.sha256(data)


def sha256_hex(data: bytes | bytearray | memoryview | str) -> str:
    """SHA-256 of bytes (or of a string's UTF-8) as hex. NumPy arrays pass as buffers."""
    return _sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def sha256_file(path: str | Path) -> str:
    """SHA-256 of a file's bytes, read in chunks."""
    h = _sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def json_key(obj: Any, length: int = 16) -> str:
    """A short stable key of a JSON-able value (keys sorted, anything else as ``str``): what resume
    records and caches are keyed by, so a changed setting never reuses an old result."""
    return sha256_hex(json.dumps(obj, sort_keys=True, default=str))[:length]


class StreamHash:
    """SHA-256 over a sequence of strings, each length-prefixed so ``["ab", "c"]`` and ``["a", "bc"]``
    differ: a content key built while reading a stream."""

    def __init__(self) -> None:
        self._h = _sha256()

    def update(self, text: str) -> None:
        data = text.encode("utf-8", "surrogatepass")
        self._h.update(len(data).to_bytes(8, "little"))
        self._h.update(data)

    def hexdigest(self) -> str:
        return self._h.hexdigest()
