"""Reading token shards (``docs/interfaces.md``), with any token position traceable to its document.

A shard is ``part-NNNNN.npy`` plus what describes it, in either of two forms:

* our sidecar ``part-NNNNN.docs.jsonl`` (dolma-tools writes it last): header and per-document rows.
  Its ``array_format`` says whether the array is a headerless memmap (the default since version 2,
  Dolma's ``.csv.gz`` beside it) or a NumPy ``.npy`` file (version 1 arrays always are);
* only Dolma's metadata ``part-NNNNN.csv.gz`` (what ``dolma tokens`` writes): rows
  ``start,end,id,src,loc`` over a headerless memmap. Dolma records no dtype, EOS, vocabulary or
  tokenizer: the dtype is the file size over the last ``end`` (2 or 4 bytes a token), the EOS id is
  the token every document ends with (checked), and the rest is unknown (``None``).

olmo-core does not import dolma-tools: the two meet through the file format, and this reader
validates everything it relies on."""

from __future__ import annotations

import bisect
import csv
import glob
import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from olmo_core.interfaces import TOKENS_FORMAT_NAME, TOKENS_FORMAT_VERSIONS, InterfaceError

COLUMNS = ["start", "end", "id", "source", "source_file"]
ARRAY_FORMATS = ("memmap", "npy")
SIDECAR_SUFFIX = ".docs.jsonl"
DOLMA_METADATA_SUFFIX = ".csv.gz"
#: header keys whose values must agree across the shards of one dataset (where both shards know them)
AGREEING_KEYS = ("eos_id", "pad_id", "vocab_size", "tokenizer")


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
    header: dict[str, Any]  # ours as written; for a Dolma shard, the fields inferred (None: unknown)
    starts: np.ndarray  # local document starts, int64
    ends: np.ndarray
    ids: list[str]
    sources: list[str]
    source_files: list[str]

    @property
    def num_tokens(self) -> int:
        return int(self.header["num_tokens"])

    @property
    def array_format(self) -> str:
        return str(self.header["array_format"])

    def tokens(self) -> np.ndarray:
        return open_token_array(self.array_path, self.header["dtype"], self.array_format)


def open_token_array(path: Path, dtype: str, array_format: str) -> np.ndarray:
    """The shard's ids, memory-mapped read-only: a ``.npy`` file, or headerless little-endian ids."""
    if array_format == "npy":
        return np.load(path, mmap_mode="r")
    if path.stat().st_size == 0:  # np.memmap refuses empty files
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=np.dtype(dtype).newbyteorder("<"), mode="r")


def _stem(array_path: Path) -> str:
    return array_path.name[: -len(".npy")] if array_path.name.endswith(".npy") else array_path.name


def _read_sidecar(path: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    with open(path, "rb") as f:  # decoded line by line, so invalid UTF-8 is placed on its line
        try:
            header = json.loads(f.readline().decode("utf-8") or "null")
        except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
            raise InterfaceError(f"{path}, line 1: header is not UTF-8 JSON ({e})") from e
        if not isinstance(header, dict) or header.get("format") != TOKENS_FORMAT_NAME:
            raise InterfaceError(f"{path}, line 1: field 'format' must be {TOKENS_FORMAT_NAME!r}")
        if header.get("version") not in TOKENS_FORMAT_VERSIONS:
            raise InterfaceError(f"{path}, line 1: field 'version' is {header.get('version')!r}; this "
                                 f"reader knows {list(TOKENS_FORMAT_VERSIONS)}")
        if header["version"] == 1:
            header["array_format"] = "npy"
        elif header.get("array_format") not in ARRAY_FORMATS:
            raise InterfaceError(f"{path}, line 1: field 'array_format' is {header.get('array_format')!r}; "
                                 f"must be one of {list(ARRAY_FORMATS)}")
        if header.get("columns") != COLUMNS:
            raise InterfaceError(f"{path}, line 1: field 'columns' must be {COLUMNS}")
        rows = []
        for lineno, line in enumerate(f, start=2):
            try:
                rows.append(json.loads(line.decode("utf-8")))
            except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
                raise InterfaceError(f"{path}, line {lineno}: not UTF-8 JSON ({e})") from e
    return header, rows


def _read_dolma_metadata(path: Path, array_path: Path) -> tuple[dict[str, Any], list[list[Any]]]:
    """Dolma's ``.csv.gz`` rows (``start,end,id,src,loc``) as our rows, and the header they imply."""
    rows: list[list[Any]] = []
    try:
        with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
            for lineno, row in enumerate(csv.reader(f), start=1):
                if not row:
                    continue
                if len(row) != 5:
                    raise InterfaceError(f"{path}, row {lineno}: expected 5 columns start,end,id,src,loc, got "
                                         f"{len(row)}")
                try:
                    rows.append([int(row[0]), int(row[1]), row[2], "", row[3]])
                except ValueError as e:
                    raise InterfaceError(f"{path}, row {lineno}: start/end are not integers ({e})") from e
    except (OSError, EOFError, UnicodeDecodeError) as e:
        raise InterfaceError(f"{path}: not a readable gzip CSV ({e})") from e
    num_tokens = rows[-1][1] if rows else 0
    size = array_path.stat().st_size
    itemsize = size // num_tokens if num_tokens else 0
    if not num_tokens or size % num_tokens or itemsize not in (2, 4):
        raise InterfaceError(f"{array_path}: {size} bytes for the {num_tokens} tokens its metadata {path.name} "
                             "lists; a Dolma memmap holds 2 (uint16) or 4 (uint32) bytes a token")
    dtype = "uint16" if itemsize == 2 else "uint32"
    ends = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    arr = open_token_array(array_path, dtype, "memmap")
    last = np.unique(np.asarray(arr[np.clip(ends - 1, 0, num_tokens - 1)]))
    if len(last) != 1:
        raise InterfaceError(f"{array_path}: its documents end with {len(last)} different tokens "
                             f"(e.g. {last[:4].tolist()}); expected one EOS id after every document")
    header = {"format": "dolma", "dtype": dtype, "array_format": "memmap", "eos_id": int(last[0]), "pad_id": None,
              "vocab_size": None, "tokenizer": None, "num_tokens": num_tokens, "num_documents": len(rows)}
    return header, rows


def load_shard(array_path: str | Path) -> TokenShard:
    array_path = Path(array_path)
    sidecar = array_path.with_name(_stem(array_path) + SIDECAR_SUFFIX)
    metadata = array_path.with_name(_stem(array_path) + DOLMA_METADATA_SUFFIX)
    if sidecar.is_file():
        header, rows = _read_sidecar(sidecar)
        described = sidecar
    elif metadata.is_file():
        header, rows = _read_dolma_metadata(metadata, array_path)
        described = metadata
    else:
        raise InterfaceError(f"{array_path}: no sidecar {sidecar.name} (nor Dolma metadata {metadata.name}), "
                             "so the shard is unfinished")
    try:
        arr = open_token_array(array_path, header["dtype"], header["array_format"])
    except ValueError as e:  # np.load of a headerless file, or a memmap of a size the dtype does not divide
        raise InterfaceError(f"{array_path}: not a {header['array_format']} array of {header['dtype']} as "
                             f"{described.name} says ({e})") from e
    if arr.ndim != 1 or arr.dtype.name != header["dtype"]:
        raise InterfaceError(f"{array_path}: array is {arr.dtype.name}[{arr.ndim}d], {described.name} says "
                             f"{header['dtype']}[1d]")
    if len(arr) != header["num_tokens"] or len(rows) != header["num_documents"]:
        raise InterfaceError(f"{described}: header says {header['num_documents']} documents / "
                             f"{header['num_tokens']} tokens; found {len(rows)} rows / {len(arr)} tokens")
    starts = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    ends = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    if len(rows) and (starts[0] != 0 or ends[-1] != len(arr) or np.any(starts[1:] != ends[:-1])
                      or np.any(ends <= starts)):
        raise InterfaceError(f"{described}: document token ranges do not tile the array contiguously")
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
    """The concatenation of token shards in sorted path order, as one global token stream (ours and
    Dolma's may be mixed; uint16 and uint32 shards too, ids being read as int64)."""

    def __init__(self, paths: str | Path | list[str | Path], *, expect_eos_id: int | None = None,
                 vocab_limit: int | None = None) -> None:
        #: ids at or above it are refused when read (Dolma's files record no vocabulary, and a damaged
        #: shard would otherwise reach the embedding as a bare IndexError)
        self.vocab_limit = vocab_limit
        self.shards = [load_shard(p) for p in find_shards(paths)]
        known: dict[str, tuple[Any, Path]] = {}
        for shard in self.shards:
            for key in AGREEING_KEYS:
                value = shard.header[key]
                if value is None:  # a Dolma shard does not record it
                    continue
                if key in known and known[key][0] != value:
                    raise InterfaceError(f"{shard.array_path}: field {key!r} differs from {known[key][1]} "
                                         f"({value!r} vs {known[key][0]!r})")
                known.setdefault(key, (value, shard.array_path))
        eos_id, where = known["eos_id"]
        if expect_eos_id is not None and eos_id != expect_eos_id:
            raise InterfaceError(f"{where}: eos id {eos_id} but the model expects {expect_eos_id}")
        self.eos_id: int = int(eos_id)
        #: None where only Dolma shards were read (its metadata records no pad id, vocabulary or tokenizer)
        self.pad_id: int | None = known["pad_id"][0] if "pad_id" in known else None
        self.vocab_size: int | None = known["vocab_size"][0] if "vocab_size" in known else None
        self.tokenizer: dict[str, str] | None = dict(known["tokenizer"][0]) if "tokenizer" in known else None
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
            if self.vocab_limit is not None and take:
                self._check_ids(out[pos - start: pos - start + take], i, local)
            pos += take
        return out

    def _check_ids(self, ids: np.ndarray, shard: int, local: int) -> None:
        bad = np.flatnonzero((ids < 0) | (ids >= self.vocab_limit))
        if bad.size:
            at = int(bad[0])
            raise InterfaceError(f"{self.shards[shard].array_path}: token {local + at} is id {int(ids[at])}, "
                                 f"outside the model's vocabulary [0, {self.vocab_limit})")

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
