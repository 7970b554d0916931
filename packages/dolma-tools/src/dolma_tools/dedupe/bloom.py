"""A Bloom filter over 128-bit item hashes, vectorized with NumPy and saved as a checked file.

Sizing (``BloomParams.for_capacity``): for ``n`` expected items and a target false-positive rate
``p`` the optimal number of bits is ``m = -n ln p / (ln 2)^2`` and the optimal number of hash
functions is ``k = (m / n) ln 2``. The expected false-positive rate after ``n`` insertions is
``(1 - e^(-k n / m))^k``; :func:`measure_false_positive_rate` probes a filter with items never
inserted to report the real one.

Each item is hashed once with xxh3-128 (seeded); its ``k`` bit positions come from double hashing,
``(h1 + i * h2) mod m`` with ``h2`` forced odd (Kirsch and Mitzenmacher), so only one hash per
item is computed in Python and the rest is array arithmetic.

File layout: 8-byte magic, a JSON header (parameters, item count, SHA-256 of the bit array) padded
to 4096 bytes, then the bits as little-endian ``uint64`` words. ``load`` refuses a file whose magic,
size or checksum is wrong, or whose parameters differ from the ones the caller expects, and can map
the bits read-only (``np.memmap`` mode ``'r'``) so many processes share one copy in the page cache.
In memory the bits stay packed as in the file, so a filter costs ``m / 8`` bytes (10.3 MiB for 3
million items at ``p = 1e-6``; Dolma 1.2.1 rounds the same figures up to a power of two, 16 MiB).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dolma_tools.atomic import atomic_path, remove_stale_temporaries
from dolma_tools.dedupe.unitbatch import item_digests
from dolma_tools.hashing import sha256_hex
from dolma_tools.npsets import count_unique

MAGIC = b"DTBLOOM1"
HEADER_BYTES = 4096
FORMAT_NAME = "dolma-tools/bloom"
FORMAT_VERSION = 1
HASH_NAME = "xxh3_128+double-hashing"
_LN2 = math.log(2.0)
# items per check-and-add step: a step's items are tested before any of them is set (so the step is
# part of the result: a false positive can only come from items of earlier steps)
_CHUNK = 1 << 14
# items per vectorized block where the block size changes nothing but memory: its (items, k) position
# arrays (k = 20 at p = 1e-6) and their temporaries stay under a MiB each
_BLOCK = 1 << 12


class BloomFilterError(ValueError):
    """A filter file that is corrupt, truncated or built with other parameters."""


@dataclass(frozen=True)
class BloomParams:
    """The parameters that decide which bits an item sets; two filters agree only if these do."""

    num_bits: int
    num_hashes: int
    seed: int = 0

    @classmethod
    def for_capacity(cls, expected_items: int, false_positive_rate: float, *, seed: int = 0) -> BloomParams:
        """``m = ceil(-n ln p / (ln 2)^2)`` rounded up to whole 64-bit words, ``k = round(m/n ln 2)``."""
        if expected_items < 1:
            raise ValueError(f"expected_items must be >= 1, got {expected_items}")
        if not 0.0 < false_positive_rate < 1.0:
            raise ValueError(f"false_positive_rate must be in (0, 1), got {false_positive_rate}")
        m = math.ceil(-expected_items * math.log(false_positive_rate) / (_LN2 ** 2))
        m = max(64, -(-m // 64) * 64)
        k = max(1, round(m / expected_items * _LN2))
        return cls(num_bits=m, num_hashes=k, seed=seed)

    def expected_false_positive_rate(self, items: int) -> float:
        return (1.0 - math.exp(-self.num_hashes * items / self.num_bits)) ** self.num_hashes


def digests_to_hashes(raw: bytes | bytearray) -> np.ndarray:
    """Concatenated 16-byte digests as an ``(n, 2)`` uint64 array (each digest big-endian, high half first)."""
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 2)


def hash_items(items: Sequence[str | bytes], seed: int = 0) -> np.ndarray:
    """xxh3-128 of each item as an ``(n, 2)`` uint64 array; strings are hashed as UTF-8."""
    if not items:
        return np.zeros((0, 2), dtype=np.uint64)
    if isinstance(items[0], str):
        return digests_to_hashes(item_digests((it.encode("utf-8", "surrogatepass") for it in items), seed))  # type: ignore[union-attr]
    return digests_to_hashes(item_digests(items, seed))  # type: ignore[arg-type]


class BloomFilter:
    """Bit array of ``params.num_bits`` bits, packed eight to a byte (``num_bits / 8`` bytes, the size
    of the file's bit section) whether writable or not. Create with :meth:`build` or :meth:`create`,
    reopen with :meth:`load`. Queries take 128-bit hashes from :func:`hash_items` (``*_hashes`` methods)
    or raw strings (``add_many`` / ``contains_many``).

    A read-only filter maps the packed bits of the file (``np.memmap`` mode ``'r'``, one copy in the
    page cache shared by every process that maps it); a writable one holds them in an array of its own."""

    def __init__(self, params: BloomParams, *, packed: np.ndarray, writable: bool = True, items_added: int = 0,
                 path: Path | None = None) -> None:
        if packed.shape != (params.num_bits // 8,) or packed.dtype != np.uint8:
            raise BloomFilterError(f"packed bit array must be {params.num_bits // 8} uint8 bytes")
        self.params = params
        self._packed = packed
        self._writable = writable
        self.items_added = items_added
        self.path = path

    @property
    def read_only(self) -> bool:
        return not self._writable

    # -- construction ---------------------------------------------------------------------------
    @classmethod
    def create(cls, params: BloomParams) -> BloomFilter:
        return cls(params, packed=np.zeros(params.num_bits // 8, dtype=np.uint8))

    @classmethod
    def for_capacity(cls, expected_items: int, false_positive_rate: float, *, seed: int = 0) -> BloomFilter:
        return cls.create(BloomParams.for_capacity(expected_items, false_positive_rate, seed=seed))

    @classmethod
    def build(cls, items: Iterable[str | bytes], *, expected_items: int | None = None,
              false_positive_rate: float = 1e-6, seed: int = 0, batch_size: int = 65536) -> BloomFilter:
        """A filter holding ``items``, sized for ``expected_items`` (default: their number)."""
        items = list(items)
        bf = cls.for_capacity(expected_items or max(1, len(items)), false_positive_rate, seed=seed)
        for i in range(0, len(items), batch_size):
            bf.add_many(items[i:i + batch_size])
        return bf

    # -- queries --------------------------------------------------------------------------------
    def _positions(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per item and hash function, the byte of its bit and the bit's mask within that byte."""
        h1 = hashes[:, 0:1]
        h2 = hashes[:, 1:2] | np.uint64(1)
        i = np.arange(self.params.num_hashes, dtype=np.uint64)[None, :]
        with np.errstate(over="ignore"):
            # int64 view: positions are < 2^63, and NumPy indexes with intp without a converting copy
            pos = ((h1 + i * h2) % np.uint64(self.params.num_bits)).view(np.int64)
        return pos >> 3, np.left_shift(np.uint8(1), (pos & 7).astype(np.uint8))

    def _test(self, byte: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return ((self._packed[byte] & mask) != 0).all(axis=1)

    def _set(self, byte: np.ndarray, mask: np.ndarray) -> None:
        # ``packed[byte] |= mask`` keeps only the last write when two positions share a byte, so the
        # bits that did not stick are set again until none is left (a few rounds on ever fewer
        # positions; as fast as one byte per bit, at an eighth of the memory; ``np.bitwise_or.at``
        # is exact in one call but twice as slow).
        byte, mask = byte.ravel(), mask.ravel()
        packed = self._packed
        while len(byte):
            packed[byte] = packed[byte] | mask
            lost = (packed[byte] & mask) == 0
            byte, mask = byte[lost], mask[lost]

    def _writable_or_raise(self) -> None:
        if not self._writable:
            raise BloomFilterError(f"filter {self.path or ''} is read-only: it marks, it does not learn")

    def contains_hashes(self, hashes: np.ndarray, *, chunk: int = _BLOCK) -> np.ndarray:
        """Boolean array: may each hashed item be in the filter (false positives possible)."""
        out = np.zeros(len(hashes), dtype=bool)
        for s in range(0, len(hashes), chunk):
            out[s:s + chunk] = self._test(*self._positions(hashes[s:s + chunk]))
        return out

    def add_hashes(self, hashes: np.ndarray, *, chunk: int = _BLOCK) -> None:
        self._writable_or_raise()
        for s in range(0, len(hashes), chunk):
            self._set(*self._positions(hashes[s:s + chunk]))
        self.items_added += len(hashes)

    def check_and_add(self, hashes: np.ndarray, *, chunk: int = _CHUNK) -> np.ndarray:
        """``contains_hashes`` then ``add_hashes`` chunk by chunk, computing bit positions once: an item
        counts as seen if the filter held it before its chunk was added. ``items_added`` grows by the
        number of distinct items that were new (equal items within a chunk count once, whatever the
        chunk size; equality on the first 64 hash bits)."""
        self._writable_or_raise()
        out = np.zeros(len(hashes), dtype=bool)
        for s in range(0, len(hashes), chunk):
            part = hashes[s:s + chunk]
            byte, mask = self._positions(part)
            seen = self._test(byte, mask)
            out[s:s + chunk] = seen
            self._set(byte, mask)
            self.items_added += count_unique(part[~seen, 0])
        return out

    def contains_many(self, items: Sequence[str | bytes]) -> np.ndarray:
        return self.contains_hashes(hash_items(items, self.params.seed))

    def add_many(self, items: Sequence[str | bytes]) -> None:
        self.add_hashes(hash_items(items, self.params.seed))

    def __contains__(self, item: str | bytes) -> bool:
        return bool(self.contains_many([item])[0])

    def packed_bits(self) -> np.ndarray:
        """The bits as the file stores them: bit ``p`` is bit ``p % 8`` (least significant first) of
        byte ``p // 8``."""
        return np.asarray(self._packed)

    def fill_ratio(self) -> float:
        return int(np.bitwise_count(self._packed).sum(dtype=np.int64)) / self.params.num_bits

    # -- files ----------------------------------------------------------------------------------
    def header(self, packed: np.ndarray | None = None) -> dict[str, Any]:
        packed = self.packed_bits() if packed is None else packed
        return {"format": FORMAT_NAME, "version": FORMAT_VERSION, "hash": HASH_NAME, **asdict(self.params),
                "items_added": self.items_added, "sha256": sha256_hex(packed)}

    def save(self, path: str | Path) -> Path:
        """Write atomically (temporary name, then rename)."""
        path = Path(path)
        packed = self.packed_bits()
        head = json.dumps(self.header(packed), sort_keys=True).encode()
        if len(MAGIC) + 4 + len(head) > HEADER_BYTES:
            raise BloomFilterError("header too large")
        remove_stale_temporaries(path)  # a killed save's leftover
        with atomic_path(path, fsync=True) as tmp, open(tmp, "wb") as f:
            f.write(MAGIC + len(head).to_bytes(4, "little") + head)
            f.write(b"\0" * (HEADER_BYTES - len(MAGIC) - 4 - len(head)))
            f.write(memoryview(np.ascontiguousarray(packed)))  # the bits in place: no second copy of the filter
        return path

    @staticmethod
    def read_header(path: str | Path) -> dict[str, Any]:
        path = Path(path)
        if not path.is_file():
            raise BloomFilterError(f"{path}: no such Bloom filter file")
        with open(path, "rb") as f:
            start = f.read(HEADER_BYTES)
        if len(start) < len(MAGIC) + 4 or start[:len(MAGIC)] != MAGIC:
            raise BloomFilterError(f"{path}: not a dolma-tools Bloom filter (bad magic bytes)")
        n = int.from_bytes(start[len(MAGIC):len(MAGIC) + 4], "little")
        try:
            header = json.loads(start[len(MAGIC) + 4:len(MAGIC) + 4 + n])
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise BloomFilterError(f"{path}: corrupt header ({e})") from e
        if not isinstance(header, dict) or header.get("format") != FORMAT_NAME:
            raise BloomFilterError(f"{path}: corrupt header (field 'format')")
        if header.get("version") != FORMAT_VERSION or header.get("hash") != HASH_NAME:
            raise BloomFilterError(f"{path}: version {header.get('version')!r} / hash {header.get('hash')!r} "
                                   f"unknown; this reader knows {FORMAT_VERSION} / {HASH_NAME}")
        return header

    @classmethod
    def load(cls, path: str | Path, *, read_only: bool = True, expect: BloomParams | None = None,
             verify: bool = True) -> BloomFilter:
        """Open a saved filter. ``read_only`` maps the packed bits with ``np.memmap(mode='r')`` (shared
        between processes through the page cache, never written); otherwise they are unpacked into a
        writable array. ``expect`` refuses a filter built with other parameters; ``verify`` checks the
        SHA-256 of the bits."""
        path = Path(path)
        header = cls.read_header(path)
        try:
            params = BloomParams(num_bits=int(header["num_bits"]), num_hashes=int(header["num_hashes"]),
                                 seed=int(header["seed"]))
        except (KeyError, TypeError, ValueError) as e:
            raise BloomFilterError(f"{path}: corrupt header, missing or bad field {e}") from e
        if params.num_bits <= 0 or params.num_bits % 64 or params.num_hashes <= 0:
            raise BloomFilterError(f"{path}: corrupt header (num_bits={params.num_bits}, "
                                   f"num_hashes={params.num_hashes})")
        if expect is not None and expect != params:
            diff = [f"{k}={getattr(params, k)} in the file but {getattr(expect, k)} expected"
                    for k in ("num_bits", "num_hashes", "seed") if getattr(params, k) != getattr(expect, k)]
            raise BloomFilterError(f"{path}: built with other parameters: " + ", ".join(diff))
        size = path.stat().st_size
        want = HEADER_BYTES + params.num_bits // 8
        if size != want:
            raise BloomFilterError(f"{path}: file is {size} bytes, header implies {want} (truncated or corrupt)")
        packed = np.memmap(path, dtype=np.uint8, mode="r", offset=HEADER_BYTES, shape=(params.num_bits // 8,))
        if verify:
            digest = sha256_hex(packed)
            if digest != header.get("sha256"):
                raise BloomFilterError(f"{path}: checksum mismatch (bits are corrupt): sha256 {digest} but "
                                       f"the header says {header.get('sha256')}")
        items = int(header.get("items_added", 0))
        if read_only:
            return cls(params, packed=packed, writable=False, items_added=items, path=path)
        return cls(params, packed=np.array(packed), items_added=items, path=path)


class CheckAndAddStream:
    """:meth:`BloomFilter.check_and_add` over items that arrive in pieces (a file read in chunks),
    giving exactly what one call over their concatenation gives: the filter is tested and set in
    steps of ``chunk`` items counted from the first item, whatever the pieces, and a step's bits are
    set only once the step is complete (its items never see each other through the filter). Also
    tells, per item, whether an equal item came earlier in the stream: within the current step
    directly (first 64 hash bits), before it through the filter (which has no false negatives), the
    same as ``units.earlier_in_batch`` over the whole stream for one item per unit. Holds one step's
    hashes (256 KiB) and computes bit positions ``block`` items at a time; call :meth:`close` after
    the last piece."""

    def __init__(self, bloom: BloomFilter, *, chunk: int = _CHUNK, block: int = _BLOCK) -> None:
        bloom._writable_or_raise()
        self.bloom, self.chunk, self.block = bloom, chunk, block
        self._step: list[np.ndarray] = []  # hashes of the open step's items
        self._new: list[np.ndarray] = []  # first bits of its items the filter did not hold
        self._filled = 0

    def check(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(seen, earlier)`` per item: held by the filter before the item's step, and equal to an
        earlier item of the same step."""
        seen = np.zeros(len(hashes), dtype=bool)
        earlier = np.zeros(len(hashes), dtype=bool)
        pos = 0
        while pos < len(hashes):
            take = min(self.chunk - self._filled, len(hashes) - pos)
            part = hashes[pos:pos + take]
            found = self.bloom.contains_hashes(part, chunk=self.block)
            seen[pos:pos + take] = found
            before = self._filled
            firsts = np.concatenate([*(h[:, 0] for h in self._step), part[:, 0]])
            _, first, inverse = np.unique(firsts, return_index=True, return_inverse=True)
            earlier[pos:pos + take] = first[inverse.ravel()][before:] < np.arange(before, len(firsts))
            self._step.append(part)
            self._new.append(part[~found, 0])
            self._filled += take
            pos += take
            if self._filled == self.chunk:
                self._flush()
        return seen, earlier

    def _flush(self) -> None:
        for part in self._step:
            for s in range(0, len(part), self.block):
                self.bloom._set(*self.bloom._positions(part[s:s + self.block]))
        self.bloom.items_added += count_unique(np.concatenate(self._new))
        self._step, self._new, self._filled = [], [], 0

    def close(self) -> None:
        if self._filled:
            self._flush()


def measure_false_positive_rate(bf: BloomFilter, probes: int = 200_000, seed: int = 12345) -> float:
    """Fraction of probe hashes (items that were never inserted, barring a 2^-128 collision) that the
    filter claims to contain. The probes are the xxh3-128 digests, under ``seed``, of
    ``b"fpr-probe <i>"`` for ``i`` in ``0 .. probes - 1``: as good as random 128-bit values for the
    filter, and drawn without ``numpy.random``, whose import (``secrets``, then OpenSSL) would add
    3.5 MiB to the process that owns the filter at the end of its run."""
    hits = 0
    for s in range(0, probes, _BLOCK):  # a block at a time: the memory of one block
        block = [b"fpr-probe %d" % i for i in range(s, min(s + _BLOCK, probes))]
        hits += int(bf.contains_hashes(hash_items(block, seed)).sum())
    return hits / probes
