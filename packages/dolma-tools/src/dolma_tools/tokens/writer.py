"""Writing token shards: ``part-NNNNN.npy`` plus ``part-NNNNN.docs.jsonl`` (the contract in
``dolma_tools.interfaces``). The array is renamed into place first and the sidecar last, so a
shard is finished exactly when its sidecar exists."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dolma_tools.docio import expand_inputs, iter_documents
from dolma_tools.interfaces import TokensHeader, token_dtype_for
from dolma_tools.tokens.tokenizer import TokenizerSpec, load_tokenizer


def _write_npy_atomic(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        np.lib.format.write_array(f, array, allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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
        if self._ntokens and self._ntokens + len(arr) > self.max_tokens:
            self.flush()
        self._rows.append([self._ntokens, self._ntokens + len(arr), doc_id, source, source_file])
        self._chunks.append(arr)
        self._ntokens += len(arr)

    def flush(self) -> Path | None:
        if not self._rows:
            return None
        name = f"{self.prefix}-{self.shard_index:05d}"
        array_path = self.destination / f"{name}.npy"
        _write_npy_atomic(array_path, np.concatenate(self._chunks))
        header = TokensHeader(dtype=self.dtype.name, eos_id=self.spec.eos_id, pad_id=self.spec.pad_id,
                              vocab_size=self.spec.vocab_size, tokenizer_name=self.spec.name,
                              tokenizer_sha256=self.spec.sha256, num_documents=len(self._rows),
                              num_tokens=self._ntokens, array=array_path.name)
        sidecar = self.destination / f"{name}.docs.jsonl"
        tmp = sidecar.with_name(f"{sidecar.name}.tmp-{os.getpid()}")
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(header.to_json(), sort_keys=True) + "\n")
            for row in self._rows:
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, sidecar)
        self.written.append(array_path)
        self.shard_index += 1
        self._chunks, self._rows, self._ntokens = [], [], 0
        return array_path


def tokenize_files(inputs: str | Path | Iterable[str | Path], destination: str | Path, *,
                   tokenizer: str | Path | None = None, max_tokens_per_file: int = 2**28,
                   batch_size: int = 256, limit: int | None = None) -> dict[str, object]:
    """Tokenize document files in order (single process) and return a summary with per-source counts."""
    spec = load_tokenizer(tokenizer)
    writer = TokenShardWriter(Path(destination), spec, max_tokens=max_tokens_per_file)
    per_source: dict[str, dict[str, int]] = {}
    seen = 0

    def encode(batch: list[tuple[str, str, str, str]]) -> None:
        encodings = spec.tokenizer.encode_batch([text for _, text, _, _ in batch], add_special_tokens=False)
        for (doc_id, _, source, source_file), enc in zip(batch, encodings, strict=True):
            writer.add(enc.ids, doc_id, source, source_file)
            stats = per_source.setdefault(source, {"documents": 0, "tokens": 0})
            stats["documents"] += 1
            stats["tokens"] += len(enc.ids) + 1

    batch: list[tuple[str, str, str, str]] = []
    for path in expand_inputs(inputs):
        for _, doc in iter_documents(path):
            if limit is not None and seen >= limit:
                break
            batch.append((doc.id, doc.text, doc.source, str(path)))
            seen += 1
            if len(batch) >= batch_size:
                encode(batch)
                batch = []
    if batch:
        encode(batch)
    writer.flush()
    return {"documents": seen, "tokens": sum(s["tokens"] for s in per_source.values()),
            "shards": [str(p) for p in writer.written], "per_source": per_source}
