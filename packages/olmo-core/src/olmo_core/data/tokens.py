"""Reading the tokenized-dataset contract (``docs/interfaces.md``): memory-mapped ``.npy`` token
arrays and their ``.docs.jsonl`` sidecars, with any token position traceable to its document.

olmo-core does not import dolma-tools: the two meet through the file format, and this reader
validates everything it relies on."""

from __future__ import annotations

import bisect
import glob
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from olmo_core.interfaces import TOKENS_FORMAT_NAME, TOKENS_FORMAT_VERSION, InterfaceError

COLUMNS = ["start", "end", "id", "source", "source_file"]


@dataclass(frozen=True)
class DocumentRef:
    """Where a token came from: the document and its token range in the dataset's global order."""

    id: str
    source: str
    source_file: str
    shard: str
    start: int  # global token offset
    end: int


@dataclass
class TokenShard:
    array_path: Path
    header: dict[str, Any]
    starts: np.ndarray  # local document starts, int64
    ends: np.ndarray
    ids: list[str]
    sources: list[str]
    source_files: list[str]

    @property
    def num_tokens(self) -> int:
        return int(self.header["num_tokens"])

    def tokens(self) -> np.ndarray:
        return np.load(self.array_path, mmap_mode="r")


def _read_sidecar(path: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    with open(path, encoding="utf-8") as f:
        try:
            header = json.loads(f.readline() or "null")
        except json.JSONDecodeError as e:
            raise InterfaceError(f"{path}, line 1: header is not JSON ({e})") from e
        if not isinstance(header, dict) or header.get("format") != TOKENS_FORMAT_NAME:
            raise InterfaceError(f"{path}, line 1: field 'format' must be {TOKENS_FORMAT_NAME!r}")
        if header.get("version") != TOKENS_FORMAT_VERSION:
            raise InterfaceError(f"{path}, line 1: field 'version' is {header.get('version')!r}; this "
                                 f"reader knows {TOKENS_FORMAT_VERSION}")
        if header.get("columns") != COLUMNS:
            raise InterfaceError(f"{path}, line 1: field 'columns' must be {COLUMNS}")
        rows = []
        for lineno, line in enumerate(f, start=2):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise InterfaceError(f"{path}, line {lineno}: not JSON ({e})") from e
    return header, rows


def load_shard(array_path: str | Path) -> TokenShard:
    array_path = Path(array_path)
    sidecar = array_path.with_name(array_path.name[: -len(".npy")] + ".docs.jsonl")
    if not sidecar.is_file():
        raise InterfaceError(f"{array_path}: no sidecar {sidecar.name}, so the shard is unfinished")
    header, rows = _read_sidecar(sidecar)
    arr = np.load(array_path, mmap_mode="r")
    if arr.ndim != 1 or arr.dtype.name != header["dtype"]:
        raise InterfaceError(f"{array_path}: array is {arr.dtype.name}[{arr.ndim}d], sidecar says "
                             f"{header['dtype']}[1d]")
    if len(arr) != header["num_tokens"] or len(rows) != header["num_documents"]:
        raise InterfaceError(f"{sidecar}: header says {header['num_documents']} documents / "
                             f"{header['num_tokens']} tokens; found {len(rows)} rows / {len(arr)} tokens")
    starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    ends = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    if len(rows) and (starts[0] != 0 or ends[-1] != len(arr) or np.any(starts[1:] != ends[:-1])
                      or np.any(ends <= starts)):
        raise InterfaceError(f"{sidecar}: document token ranges do not tile the array contiguously")
    return TokenShard(array_path, header, starts, ends, [str(r[2]) for r in rows], [str(r[3]) for r in rows],
                      [str(r[4]) for r in rows])


def find_shards(paths: str | Path | list[str | Path]) -> list[Path]:
    """Folders (all ``*.npy`` inside, recursively), globs or files, sorted."""
    items = [paths] if isinstance(paths, str | Path) else paths
    out: set[Path] = set()
    for item in items:
        p = Path(item)
        if p.is_dir():
            out.update(p.rglob("*.npy"))
        elif any(c in str(item) for c in "*?["):
            out.update(Path(m) for m in glob.glob(str(item), recursive=True) if m.endswith(".npy"))
        elif p.is_file():
            out.add(p)
        else:
            raise FileNotFoundError(f"token data {item!r} matches no file")
    if not out:
        raise FileNotFoundError(f"no .npy token arrays under {paths!r}")
    return sorted(out)


class TokenDataset:
    """The concatenation of token shards in sorted path order, as one global token stream."""

    def __init__(self, paths: str | Path | list[str | Path], *, expect_eos_id: int | None = None) -> None:
        self.shards = [load_shard(p) for p in find_shards(paths)]
        first = self.shards[0].header
        for shard in self.shards[1:]:
            for key in ("dtype", "eos_id", "pad_id", "vocab_size", "tokenizer"):
                if shard.header[key] != first[key]:
                    raise InterfaceError(f"{shard.array_path}: field {key!r} differs from "
                                         f"{self.shards[0].array_path} ({shard.header[key]!r} vs {first[key]!r})")
        if expect_eos_id is not None and first["eos_id"] != expect_eos_id:
            raise InterfaceError(f"{self.shards[0].array_path}: eos id {first['eos_id']} but the model "
                                 f"expects {expect_eos_id}")
        self.eos_id: int = int(first["eos_id"])
        self.pad_id: int = int(first["pad_id"])
        self.vocab_size: int = int(first["vocab_size"])
        self.tokenizer: dict[str, str] = dict(first["tokenizer"])
        self.offsets = np.cumsum([0] + [s.num_tokens for s in self.shards]).astype(np.int64)
        self._arrays: list[np.ndarray] | None = None

    @property
    def num_tokens(self) -> int:
        return int(self.offsets[-1])

    @property
    def num_documents(self) -> int:
        return sum(len(s.ids) for s in self.shards)

    def _arr(self, i: int) -> np.ndarray:
        # Memory maps are opened lazily so the dataset pickles cheaply into worker processes.
        if self._arrays is None:
            self._arrays = [s.tokens() for s in self.shards]
        return self._arrays[i]

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_arrays"] = None
        return state

    def tokens(self, start: int, end: int) -> np.ndarray:
        """Global token positions ``[start, end)`` as int64, across shard boundaries."""
        if not 0 <= start <= end <= self.num_tokens:
            raise IndexError(f"token range [{start}, {end}) outside [0, {self.num_tokens})")
        out = np.empty(end - start, dtype=np.int64)
        pos = start
        while pos < end:
            i = int(np.searchsorted(self.offsets, pos, side="right")) - 1
            local = pos - int(self.offsets[i])
            take = min(end - pos, self.shards[i].num_tokens - local)
            out[pos - start: pos - start + take] = self._arr(i)[local: local + take]
            pos += take
        return out

    def document_at(self, position: int) -> DocumentRef:
        """The document that global token ``position`` belongs to (binary search, no EOS scan)."""
        if not 0 <= position < self.num_tokens:
            raise IndexError(f"token position {position} outside [0, {self.num_tokens})")
        i = int(np.searchsorted(self.offsets, position, side="right")) - 1
        shard = self.shards[i]
        local = position - int(self.offsets[i])
        j = bisect.bisect_right(shard.starts, local) - 1  # type: ignore[arg-type]
        base = int(self.offsets[i])
        return DocumentRef(id=shard.ids[j], source=shard.sources[j], source_file=shard.source_files[j],
                           shard=shard.array_path.name, start=base + int(shard.starts[j]),
                           end=base + int(shard.ends[j]))

    def documents_in(self, start: int, end: int) -> list[DocumentRef]:
        """Every document overlapping global token range ``[start, end)``, in order."""
        refs: list[DocumentRef] = []
        pos = start
        while pos < end:
            ref = self.document_at(pos)
            refs.append(ref)
            pos = ref.end
        return refs
