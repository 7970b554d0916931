"""Stage 1 of tokenization: each input file becomes one *unit* in a work folder, tokenized by
whichever worker picks it up. A unit is ``<key>.tok`` (raw token ids, EOS after every document)
and ``<key>.rows.json`` (id, source, token count and 1-based line of each document), the rows
written last, so a unit is finished exactly when its rows file exists. The key hashes the unit
layout, the tokenizer and the input file's path, size and modification time, so a resumed run reuses only units made from the same
bytes with the same tokenizer; the tokens do not depend on which process made them."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dolma_tools.atomic import atomic_path, write_text_atomic
from dolma_tools.docio import iter_documents
from dolma_tools.faults import fault_point
from dolma_tools.hashing import sha256_hex
from dolma_tools.interfaces import token_dtype_for
from dolma_tools.tokens.tokenizer import TokenizerSpec, load_tokenizer

#: in the key, so units of an older layout (rows without the line) are made again, never misread
UNIT_LAYOUT = 2


@dataclass(frozen=True)
class Unit:
    path: Path  # input document file
    key: str
    work: Path

    @property
    def tokens_path(self) -> Path:
        return self.work / f"{self.key}.tok"

    @property
    def rows_path(self) -> Path:
        return self.work / f"{self.key}.rows.json"

    def done(self) -> bool:
        return self.rows_path.is_file() and self.tokens_path.is_file()


def unit_for(path: Path, spec: TokenizerSpec, work: Path) -> Unit:
    st = path.stat()
    ident = json.dumps([UNIT_LAYOUT, spec.sha256, spec.eos_id, str(path.resolve()), st.st_size, st.st_mtime_ns])
    key = f"{path.name}-{sha256_hex(ident)[:16]}"
    return Unit(path=path, key=key, work=work)


@dataclass(frozen=True)
class UnitTask:
    unit: Unit
    tokenizer_path: str
    eos_id: int
    pad_id: int
    batch_size: int
    batch_chars: int


_SPECS: dict[tuple[str, int, int], TokenizerSpec] = {}


def _spec(task: UnitTask) -> TokenizerSpec:
    k = (task.tokenizer_path, task.eos_id, task.pad_id)
    if k not in _SPECS:  # one tokenizer per worker process, loaded on its first unit
        _SPECS[k] = load_tokenizer(task.tokenizer_path, eos_id=task.eos_id, pad_id=task.pad_id)
    return _SPECS[k]


def tokenize_unit(task: UnitTask) -> dict[str, Any]:
    """Tokenize one input file into its unit (skipped when already done); returns its counts."""
    unit = task.unit
    if unit.done():
        rows = json.loads(unit.rows_path.read_text(encoding="utf-8"))["rows"]
        return _counts(unit, rows, reused=True)
    spec = _spec(task)
    dtype = np.dtype(token_dtype_for(spec.vocab_size))
    rows: list[list[Any]] = []
    eos = np.array([spec.eos_id], dtype=dtype)
    with atomic_path(unit.tokens_path, fsync=True) as tmp, open(tmp, "wb") as out:
        batch: list[tuple[str, str, str, int]] = []
        chars = 0

        def encode() -> None:
            encs = spec.tokenizer.encode_batch_fast([t for _, t, _, _ in batch], add_special_tokens=False)
            parts = []
            for (doc_id, _, source, lineno), enc in zip(batch, encs, strict=True):
                ids = enc.ids
                parts.append(np.array(ids, dtype=dtype))
                parts.append(eos)
                rows.append([doc_id, source, len(ids) + 1, lineno])
            out.write(np.concatenate(parts).tobytes())
            fault_point("tokens.unit_write")  # chaos tests: a kill with a unit's tokens half written

        for lineno, doc in iter_documents(unit.path):
            batch.append((doc.id, doc.text, doc.source, lineno))
            chars += len(doc.text)
            if len(batch) >= task.batch_size or chars >= task.batch_chars:
                encode()
                batch, chars = [], 0
        if batch:
            encode()
    write_text_atomic(unit.rows_path, json.dumps({"source_file": str(unit.path), "dtype": dtype.name, "rows": rows},
                                                 ensure_ascii=False))
    if delay := float(os.environ.get("DOLMA_TOOLS_UNIT_DELAY", "0") or 0):
        time.sleep(delay)  # fault-injection hook: lets a test kill a run between two units
    return _counts(unit, rows, reused=False)


def _counts(unit: Unit, rows: list[list[Any]], *, reused: bool) -> dict[str, Any]:
    per_source: dict[str, dict[str, int]] = {}
    for _, source, n, _ in rows:
        s = per_source.setdefault(source, {"documents": 0, "tokens": 0})
        s["documents"] += 1
        s["tokens"] += n
    return {"key": unit.key, "documents": len(rows), "tokens": sum(r[2] for r in rows), "per_source": per_source,
            "reused": reused}


def load_unit(unit: Unit, dtype: np.dtype) -> list[list[Any]]:
    """The unit's rows, checked against the size of its token file."""
    rows = json.loads(unit.rows_path.read_text(encoding="utf-8"))["rows"]
    total = sum(r[2] for r in rows)
    size = unit.tokens_path.stat().st_size
    if size != total * dtype.itemsize:
        raise ValueError(f"{unit.tokens_path}: {size} bytes but its rows say {total} tokens; delete the work "
                         f"folder {unit.work} to start over")
    return rows


def read_tokens(unit: Unit, dtype: np.dtype, start: int, end: int) -> np.ndarray:
    """Tokens ``[start, end)`` of a finished unit, read (not mapped: the pages of a map stay in the
    packer's resident set until it closes, so packing a corpus would grow with the corpus)."""
    return np.fromfile(unit.tokens_path, dtype=dtype, count=end - start, offset=start * dtype.itemsize)
