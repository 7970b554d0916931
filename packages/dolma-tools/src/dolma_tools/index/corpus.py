"""The token stream an index covers: every shard under the given folders, in sorted path order (the
order OLMo-core's ``TokenDataset`` concatenates them in, so a global position here is a global
position in training), with each document's global token range, id, source, raw shard and line.

A shard is a ``part-NNNNN.npy`` array (headerless memmap or ``.npy``) with our sidecar
``part-NNNNN.docs.jsonl`` (dtype, EOS, documents) and, beside a memmap, Dolma's ``.csv.gz`` (``start,
end,id,src,loc``: the raw file and 1-based line). A Dolma shard without a sidecar is read from its
``.csv.gz`` alone; its dtype then has to be given."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dolma_tools.interfaces import FormatError, read_tokens_sidecar, sidecar_path
from dolma_tools.tokens.arrays import metadata_path, read_array


@dataclass
class Shard:
    path: Path
    dtype: str
    array_format: str
    num_tokens: int
    eos_id: int | None
    tokenizer: dict[str, str] | None
    #: per document: start, end (shard-local, EOS included), id, source, raw file, 1-based line (0: unknown)
    rows: list[tuple[int, int, str, str, str, int]]

    def tokens(self) -> np.ndarray:
        return read_array(self.path, self.dtype, self.array_format)


def _read_csv_rows(path: Path) -> list[list[str]]:
    with gzip.open(path, "rb") as f:
        return list(csv.reader(io.StringIO(f.read().decode("utf-8"))))


def load_shard(path: Path, dtype: str | None = None) -> Shard:
    side, meta = sidecar_path(path), metadata_path(path)
    locs: list[int] | None = None
    if meta.is_file():
        raw = _read_csv_rows(meta)
        try:
            locs = [int(r[4]) for r in raw]
        except (IndexError, ValueError) as e:
            raise FormatError(f"expected start,end,id,src,loc rows: {e}", path=meta) from e
    if side.is_file():
        header, rows = read_tokens_sidecar(side)
        if locs is not None and len(locs) != len(rows):
            raise FormatError(f"{len(locs)} rows but the sidecar has {len(rows)}", path=meta)
        locs = locs or [0] * len(rows)
        return Shard(path, header.dtype, header.array_format, header.num_tokens, header.eos_id,
                     {"name": header.tokenizer_name, "sha256": header.tokenizer_sha256},
                     [(int(r[0]), int(r[1]), str(r[2]), str(r[3]), str(r[4]), loc) for r, loc in zip(rows, locs)])
    if not meta.is_file():
        raise FormatError("neither a sidecar (.docs.jsonl) nor Dolma metadata (.csv.gz) beside it", path=path)
    if dtype is None:
        raise FormatError("a Dolma shard records no dtype: pass it (uint16 or uint32)", path=path)
    itemsize = np.dtype(dtype).itemsize
    out = [(int(r[0]), int(r[1]), r[2], r[3], r[3], int(r[4])) for r in raw]
    return Shard(path, dtype, "memmap", path.stat().st_size // itemsize, None, None, out)


def find_shard_paths(paths: list[str | Path]) -> list[Path]:
    """Folders (every ``*.npy`` inside, recursively) or files, sorted as OLMo-core sorts them."""
    out: set[Path] = set()
    for item in paths:
        p = Path(item)
        if p.is_dir():
            out.update(p.rglob("*.npy"))
        elif p.is_file():
            out.add(p)
        else:
            raise FileNotFoundError(f"token data {str(item)!r} matches no file")
    if not out:
        raise FileNotFoundError(f"no .npy token arrays under {[str(p) for p in paths]}")
    return sorted(out)


@dataclass
class TokenCorpus:
    shards: list[Shard]
    offsets: np.ndarray = field(init=False)  # global start of each shard, plus the total

    def __post_init__(self) -> None:
        self.offsets = np.cumsum([0] + [s.num_tokens for s in self.shards]).astype(np.int64)
        dtypes = {s.dtype for s in self.shards}
        # one width for the whole stream: uint32 if any shard needs it
        self.dtype = "uint32" if "uint32" in dtypes else "uint16"
        eos = {s.eos_id for s in self.shards if s.eos_id is not None}
        if len(eos) > 1:
            raise FormatError(f"shards disagree on the EOS id: {sorted(eos)}", path=self.shards[0].path)
        self.eos_id = eos.pop() if eos else None

    @classmethod
    def open(cls, paths: list[str | Path], dtype: str | None = None) -> TokenCorpus:
        return cls([load_shard(p, dtype) for p in find_shard_paths(paths)])

    @property
    def num_tokens(self) -> int:
        return int(self.offsets[-1])

    def chunks(self, size: int) -> Iterator[tuple[int, np.ndarray]]:
        """``(global start, ids)`` pieces of at most ``size`` tokens, in stream order."""
        for off, shard in zip(self.offsets[:-1].tolist(), self.shards):
            arr = shard.tokens()
            for s in range(0, len(arr), size):
                yield off + s, np.asarray(arr[s:s + size])

    def document_table(self) -> tuple[np.ndarray, list[list[object]]]:
        """Global document starts (with the total at the end) and per document ``[id, source, raw
        file, line, shard file, offset in shard]``."""
        starts: list[int] = []
        docs: list[list[object]] = []
        for off, shard in zip(self.offsets[:-1].tolist(), self.shards):
            for start, _end, doc_id, source, raw, loc in shard.rows:
                starts.append(off + start)
                docs.append([doc_id, source, raw, loc, shard.path.name, start])
        return np.asarray(starts + [self.num_tokens], dtype=np.int64), docs
