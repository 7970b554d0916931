"""Writing token shards: ``part-NNNNN.npy`` (headerless memmap by default, see ``arrays``), Dolma's
``part-NNNNN.csv.gz`` beside a memmap, and ``part-NNNNN.docs.jsonl`` (the contract in
``dolma_tools.interfaces``, provenance included). An old sidecar is removed first and the new one
renamed into place last, so a shard is finished exactly when its sidecar exists."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dolma_tools.atomic import write_text_atomic
from dolma_tools.faults import fault_point
from dolma_tools.interfaces import TokensHeader, sidecar_path, token_dtype_for
from dolma_tools.tokens.arrays import (
    DEFAULT_ARRAY_FORMAT,
    check_array_format,
    metadata_path,
    write_array,
    write_metadata,
)
from dolma_tools.tokens.tokenizer import TokenizerSpec


def shard_files(array_path: Path, array_format: str) -> list[Path]:
    """Every file of one finished shard, the sidecar last."""
    extra = [metadata_path(array_path)] if array_format == "memmap" else []
    return [array_path, *extra, sidecar_path(array_path)]


def write_shard(destination: Path, name: str, array: np.ndarray, rows: Sequence[Sequence[object]],
                spec: TokenizerSpec, *, locs: Sequence[int] | None = None,
                array_format: str = DEFAULT_ARRAY_FORMAT) -> Path:
    """Write one finished shard. ``rows``: ``[start, end, id, source, source_file]`` per document;
    ``locs``: each document's 1-based line in its source file (Dolma's ``loc``; 0 when unknown)."""
    check_array_format(array_format)
    array_path = destination / f"{name}.npy"
    sidecar = sidecar_path(array_path)
    sidecar.unlink(missing_ok=True)  # the shard is unfinished until the new sidecar lands
    write_array(array_path, array, array_format)
    if array_format == "memmap":
        locs = [0] * len(rows) if locs is None else locs
        write_metadata(metadata_path(array_path),
                       [[r[0], r[1], r[2], r[4], loc] for r, loc in zip(rows, locs, strict=True)])
    fault_point("tokens.shard_write")  # chaos tests: a kill between a shard's array and its sidecar
    header = TokensHeader(dtype=array.dtype.name, eos_id=spec.eos_id, pad_id=spec.pad_id,
                          vocab_size=spec.vocab_size, tokenizer_name=spec.name, tokenizer_sha256=spec.sha256,
                          num_documents=len(rows), num_tokens=int(len(array)), array=array_path.name,
                          array_format=array_format)
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
    array_format: str = DEFAULT_ARRAY_FORMAT
    _chunks: list[np.ndarray] = field(default_factory=list)
    _rows: list[list[object]] = field(default_factory=list)
    _locs: list[int] = field(default_factory=list)
    _ntokens: int = 0
    written: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.destination = Path(self.destination)
        self.destination.mkdir(parents=True, exist_ok=True)
        self.dtype = np.dtype(token_dtype_for(self.spec.vocab_size))
        check_array_format(self.array_format)

    def add(self, ids: Sequence[int] | np.ndarray, doc_id: str, source: str, source_file: str, loc: int = 0) -> None:
        """Add one document's ids; EOS is appended here, so callers pass the bare encoding."""
        arr = np.empty(len(ids) + 1, dtype=self.dtype)
        arr[:-1] = ids
        arr[-1] = self.spec.eos_id
        self.add_with_eos(arr, doc_id, source, source_file, loc)

    def add_with_eos(self, arr: np.ndarray, doc_id: str, source: str, source_file: str, loc: int = 0) -> None:
        if self._ntokens and self._ntokens + len(arr) > self.max_tokens:
            self.flush()
        self._rows.append([self._ntokens, self._ntokens + len(arr), doc_id, source, source_file])
        self._locs.append(loc)
        self._chunks.append(arr)
        self._ntokens += len(arr)

    def flush(self) -> Path | None:
        if not self._rows:
            return None
        path = write_shard(self.destination, f"{self.prefix}-{self.shard_index:05d}",
                           np.concatenate(self._chunks).astype(self.dtype, copy=False), self._rows, self.spec,
                           locs=self._locs, array_format=self.array_format)
        self.written.append(path)
        self.shard_index += 1
        self._chunks, self._rows, self._locs, self._ntokens = [], [], [], 0
        return path
