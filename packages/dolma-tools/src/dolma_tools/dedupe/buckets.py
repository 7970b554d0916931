"""The files between MinHash's stages, as datatrove lays its stages out: signatures -> sorted bucket
files -> edges -> clusters -> attributes.

Per input file ``f`` the signature stage writes, under ``work/sig``:

- ``fNNNNNN.keys.npy`` (``bands x docs`` uint64) and ``fNNNNNN.docs.npy`` (uint32 local indices): each
  band's bucket key (a 64-bit hash of the band's ``rows`` signature values) per document, sorted by
  key within the band: one sorted run per band and file;
- ``fNNNNNN.sig.u32``: the signatures (``docs x bands*rows`` raw little-endian uint32);
- ``fNNNNNN.shingles.u32`` + ``fNNNNNN.offsets.npy``: each document's sorted distinct 32-bit shingle
  hashes, concatenated (raw uint32), for the exact Jaccard of candidate pairs. These two are read
  by seek and read, never mapped: mapped pages would count in the process's resident memory;
- ``fNNNNNN.ids.json``: ``[[id, length], ...]`` for the filter stage, which then never re-reads text.

The bucket stage merges one band's runs one key range at a time (each range holds at most
``merge_records`` records, read from the memory-mapped runs by binary search), sorts it, and writes
an edge from the first document of every run of equal keys to each other one. Memory is one key
range, whatever the corpus size."""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dolma_tools.atomic import atomic_path, write_json_atomic


def stem(work: Path, file_index: int) -> Path:
    return work / "sig" / f"f{file_index:06d}"


def save_array(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, arr)


def save_raw(path: Path, arr: np.ndarray) -> None:
    with atomic_path(path) as tmp:
        arr.tofile(tmp)


def write_file_outputs(work: Path, file_index: int, ids_lengths: list[list], sigs: np.ndarray,
                       shingles: list[np.ndarray], bands: int, rows: int) -> None:
    base = stem(work, file_index)
    n = len(ids_lengths)
    keys = band_keys(sigs, bands, rows)  # (bands, n)
    valid = np.array([len(s) > 0 for s in shingles], dtype=bool)
    local = np.nonzero(valid)[0].astype(np.uint32)
    keys = keys[:, valid]
    order = np.stack([np.lexsort((local, keys[b])) for b in range(bands)]) if len(local) else \
        np.zeros((bands, 0), dtype=np.int64)
    save_array(Path(f"{base}.keys.npy"), np.take_along_axis(keys, order, axis=1))
    save_array(Path(f"{base}.docs.npy"), local[order])
    save_raw(Path(f"{base}.sig.u32"), sigs.astype("<u4"))
    offsets = np.zeros(n + 1, dtype=np.int64)
    offsets[1:] = np.cumsum([len(s) for s in shingles])
    save_raw(Path(f"{base}.shingles.u32"), np.concatenate(shingles).astype("<u4") if n else np.zeros(0, dtype="<u4"))
    save_array(Path(f"{base}.offsets.npy"), offsets)
    write_json_atomic(Path(f"{base}.ids.json"), ids_lengths, ensure_ascii=False)


_MIX = (np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB))
_STEP = np.uint64(0x100000001B3)


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finalizer: spreads every input bit over the whole word."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * _MIX[0]
        x = (x ^ (x >> np.uint64(27))) * _MIX[1]
        return x ^ (x >> np.uint64(31))


def band_keys(sigs: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """``(bands, docs)`` uint64: a hash of each band's ``rows`` values (equal bands, equal keys)."""
    keys = np.zeros((bands, len(sigs)), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(bands):
            k = np.full(len(sigs), np.uint64(b + 1), dtype=np.uint64)
            for r in range(rows):
                k = (k ^ sigs[:, b * rows + r].astype(np.uint64)) * _STEP
            keys[b] = mix64(k)
    return keys


def key_ranges(total: int, merge_records: int) -> list[tuple[int, int]]:
    """Equal slices of the uint64 key space, enough that each holds about ``merge_records`` records
    (keys are hashes, so records spread evenly)."""
    parts = max(1, -(-total // max(1, merge_records)))
    edges = [(p << 64) // parts for p in range(parts + 1)]
    return list(zip(edges[:-1], edges[1:], strict=True))


def band_edges(work: Path, band: int, file_offsets: list[int], merge_records: int) -> Path:
    """Merge band ``band`` of every file's sorted run, range by range; write and return its edge file
    (``(m, 2)`` uint64 global indices, first document of the bucket, other document)."""
    runs = [(np.load(f"{stem(work, f)}.keys.npy", mmap_mode="r"), np.load(f"{stem(work, f)}.docs.npy", mmap_mode="r"))
            for f in range(len(file_offsets))]
    total = sum(k.shape[1] for k, _ in runs)
    out: list[np.ndarray] = []
    for lo, hi in key_ranges(total, merge_records):
        keys, docs = [], []
        for f, (k, d) in enumerate(runs):
            row = k[band]
            start = int(np.searchsorted(row, np.uint64(lo))) if lo else 0
            end = int(np.searchsorted(row, np.uint64(hi))) if hi < (1 << 64) else len(row)
            if end > start:
                keys.append(np.asarray(row[start:end]))
                docs.append(np.asarray(d[band][start:end]).astype(np.uint64) + np.uint64(file_offsets[f]))
        if not keys:
            continue
        k_all, d_all = np.concatenate(keys), np.concatenate(docs)
        order = np.lexsort((d_all, k_all))
        k_all, d_all = k_all[order], d_all[order]
        starts = np.ones(len(k_all), dtype=bool)
        starts[1:] = k_all[1:] != k_all[:-1]
        first = np.maximum.accumulate(np.where(starts, np.arange(len(k_all)), 0))
        others = ~starts
        if others.any():
            out.append(np.stack([d_all[first[others]], d_all[others]], axis=1))
    path = work / "edges" / f"b{band:03d}.npy"
    save_array(path, np.concatenate(out) if out else np.zeros((0, 2), dtype=np.uint64))
    return path


@dataclass
class SignatureStore:
    """Random access to the signature stage's per-document outputs by global index: offsets loaded
    and files opened lazily, a bounded number at a time; rows read with seek and read."""

    work: Path
    file_offsets: list[int]
    signature_size: int = 0
    open_files: int = 64

    def __post_init__(self) -> None:
        self._open: OrderedDict[tuple[int, str], Any] = OrderedDict()
        self._bounds = np.asarray(self.file_offsets, dtype=np.int64)

    def _cached(self, f: int, kind: str) -> Any:
        key = (f, kind)
        obj = self._open.get(key)
        if obj is None:
            base = stem(self.work, f)
            obj = np.load(f"{base}.offsets.npy") if kind == "offsets" else open(f"{base}.{kind}.u32", "rb")  # noqa: SIM115
            self._open[key] = obj
            if len(self._open) > self.open_files:
                _, old = self._open.popitem(last=False)
                if not isinstance(old, np.ndarray):
                    old.close()
        else:
            self._open.move_to_end(key)
        return obj

    def _read(self, f: int, kind: str, start: int, count: int) -> np.ndarray:
        fh = self._cached(f, kind)
        fh.seek(4 * start)
        return np.fromfile(fh, dtype="<u4", count=count)

    def close(self) -> None:
        for obj in self._open.values():
            if not isinstance(obj, np.ndarray):
                obj.close()
        self._open.clear()

    def locate(self, i: int) -> tuple[int, int]:
        f = int(np.searchsorted(self._bounds, i, side="right")) - 1
        return f, i - self.file_offsets[f]

    def shingles(self, i: int) -> np.ndarray:
        f, k = self.locate(i)
        off = self._cached(f, "offsets")
        return self._read(f, "shingles", int(off[k]), int(off[k + 1] - off[k]))

    def signature(self, i: int) -> np.ndarray:
        f, k = self.locate(i)
        return self._read(f, "sig", k * self.signature_size, self.signature_size)

    def jaccard(self, i: int, j: int) -> float:
        x, y = self.shingles(i), self.shingles(j)
        if not len(x) and not len(y):
            return 1.0
        inter = len(np.intersect1d(x, y, assume_unique=True))
        return inter / (len(x) + len(y) - inter)

    def ids(self, f: int) -> list[list]:
        return json.loads(Path(f"{stem(self.work, f)}.ids.json").read_text(encoding="utf-8"))
