"""Token arrays on disk, in the two layouts a shard's sidecar can name (``array_format``):

* ``memmap`` (default): headerless little-endian ids, the layout Dolma's ``tokens`` writes and
  OLMo-core's numpy datasets memory-map, plus Dolma's metadata ``part-NNNNN.csv.gz`` (no header row;
  per document ``start,end,id,src,loc``: its token range, id, input file and 1-based line);
* ``npy``: a NumPy ``.npy`` file (self-describing, but OLMo-core and Dolma cannot read it).

Every file is written to a temporary name and renamed into place."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from dolma_tools.atomic import atomic_path
from dolma_tools.interfaces import TOKEN_ARRAY_FORMATS

DEFAULT_ARRAY_FORMAT = "memmap"
METADATA_SUFFIX = ".csv.gz"


def check_array_format(array_format: str) -> str:
    if array_format not in TOKEN_ARRAY_FORMATS:
        raise ValueError(f"array format {array_format!r} is not one of {list(TOKEN_ARRAY_FORMATS)}")
    return array_format


def metadata_path(array_path: Path) -> Path:
    """Dolma's naming: ``part-00000.npy`` -> ``part-00000.csv.gz``."""
    return array_path.with_name(array_path.name[: -len(".npy")] + METADATA_SUFFIX)


def write_array(path: Path, array: np.ndarray, array_format: str) -> None:
    # little-endian whatever the host, as both Dolma and OLMo-core read it
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as f:
        if check_array_format(array_format) == "npy":
            np.lib.format.write_array(f, array, allow_pickle=False)
        else:
            f.write(memoryview(array).cast("B"))  # the array's own bytes: tobytes() would copy a whole shard


def read_array(path: Path, dtype: str, array_format: str) -> np.ndarray:
    """The ids of a shard's array, memory-mapped (read-only)."""
    if check_array_format(array_format) == "npy":
        return np.load(path, mmap_mode="r")
    if path.stat().st_size == 0:  # np.memmap refuses empty files
        return np.zeros(0, dtype=dtype)
    return np.memmap(path, dtype=np.dtype(dtype).newbyteorder("<"), mode="r")


def write_metadata(path: Path, rows: Sequence[Sequence[object]]) -> None:
    """Dolma's ``.csv.gz``: one ``start,end,id,src,loc`` row per document (csv module defaults, as
    Dolma's writer uses them). The gzip header carries no name or time, so equal rows give equal bytes."""
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as raw, \
            gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as f:
        f.write(text.getvalue().encode("utf-8"))
