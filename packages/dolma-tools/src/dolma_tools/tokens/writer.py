"""Writing token shards: ``part-NNNNN.npy`` plus ``part-NNNNN.docs.jsonl`` (the contract in
``dolma_tools.interfaces``). The array is renamed into place first and the sidecar last, so a
shard is finished exactly when its sidecar exists."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dolma_tools.atomic import atomic_path, write_text_atomic
from dolma_tools.interfaces import TokensHeader, token_dtype_for
from dolma_tools.tokens.tokenizer import TokenizerSpec


def _write_npy_atomic(path: Path, array: np.ndarray) -> None:
    with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as f:
        np.lib.format.write_array(f, array, allow_pickle=False)


def write_shard(destination: Path, name: str, array: np.ndarray, rows: Sequence[Sequence[object]],
                spec: TokenizerSpec) -> Path:
    """Write one finished shard: the array, then its sidecar (header + ``rows``)."""
    array_path = destination / f"{name}.npy"
    _write_npy_atomic(array_path, array)
    header = TokensHeader(dtype=array.dtype.name, eos_id=spec.eos_id, pad_id=spec.pad_id,
                          vocab_size=spec.vocab_size, tokenizer_name=spec.name, tokenizer_sha256=spec.sha256,
                          num_documents=len(rows), num_tokens=int(len(array)), array=array_path.name)
    sidecar = destination / f"{name}.docs.jsonl"
    write_text_atomic(sidecar, json.dumps(header.to_json(), sort_keys=True) + "\n"
                      + "".join(json.dumps(list(row), ensure_ascii=False) + "\n" for row in rows), fsync=True)
    return array_path


@dataclass
class TokenShardWriter:
    """Accumulates documents and writes a shard whenever ``max_tokens`` would be exceeded."""

    destination: Path
    spec: TokenizerSpec
    max_tokens: int = 2**28
    prefix: str = "part"
    shard_index: int = 0
    _chunks: list[np.ndarray] = field(default_factory=list)
    _rows: list[list[object]] = field(default_factory=list)
    _ntokens: int = 0
    written: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.destination = Path(self.destination)
        self.destination.mkdir(parents=True, exist_ok=True)
        self.dtype = np.dtype(token_dtype_for(self.spec.vocab_size))

    def add(self, ids: Sequence[int] | np.ndarray, doc_id: str, source: str, source_file: str) -> None:
        """Add one document's ids; EOS is appended here, so callers pass the bare encoding."""
        arr = np.empty(len(ids) + 1, dtype=self.dtype)
        arr[:-1] = ids
        arr[-1] = self.spec.eos_id
        self.add_with_eos(arr, doc_id, source, source_file)

    def add_with_eos(self, arr: np.ndarray, doc_id: str, source: str, source_file: str) -> None:
        if self._ntokens and self._ntokens + len(arr) > self.max_tokens:
            self.flush()
        self._rows.append([self._ntokens, self._ntokens + len(arr), doc_id, source, source_file])
        self._chunks.append(arr)
        self._ntokens += len(arr)

    def flush(self) -> Path | None:
        if not self._rows:
            return None
        path = write_shard(self.destination, f"{self.prefix}-{self.shard_index:05d}",
                           np.concatenate(self._chunks).astype(self.dtype, copy=False), self._rows, self.spec)
        self.written.append(path)
        self.shard_index += 1
        self._chunks, self._rows, self._ntokens = [], [], 0
        return path
