"""Mixing several sources into one dataset, deterministically for a seed.

A source is written ``PATH``, ``PATH:COUNT`` or ``PATH:PERCENT%``:

* ``sft.jsonl.zst``          every record once;
* ``sft.jsonl.zst:1000``     exactly 1000 records (an integer is always a count, never a fraction;
  more than the file holds is an error);
* ``sft.jsonl.zst:25%``      a quarter of the records; ``250%`` is two full copies plus a random half
  (a fraction is always written with ``%``, so ``1`` and ``100%`` cannot be confused).

The same sources, seed and files always give the same records in the same order; per-source
statistics (available, selected, and later tokens and drops) are kept in ``MixStats``."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from olmo_core.interfaces import file_sha256
from open_instruct.data.sources import Kind, read_records

_SPEC = re.compile(r"^(?P<path>.+?)(?::(?P<amount>\d+(?:\.\d+)?%|\d+))?$")


@dataclass(frozen=True)
class MixSource:
    path: str
    count: int | None = None
    fraction: float | None = None

    def __post_init__(self) -> None:
        if self.count is not None and self.fraction is not None:
            raise ValueError(f"{self.path}: give a count or a fraction, not both")
        if self.count is not None and self.count < 0 or self.fraction is not None and self.fraction < 0:
            raise ValueError(f"{self.path}: amounts must be non-negative")

    @classmethod
    def parse(cls, spec: str) -> MixSource:
        """``PATH``, ``PATH:COUNT`` (integer) or ``PATH:PERCENT%``."""
        spec = spec.strip()
        tail = spec.rsplit(":", 1)
        if len(tail) == 2 and not re.fullmatch(r"\d+(\.\d+)?%|\d+", tail[1]):
            if re.fullmatch(r"\d*\.\d+", tail[1]):
                raise ValueError(f"{spec!r}: {tail[1]!r} is ambiguous; write a count as an integer "
                                 f"or a fraction as a percentage, e.g. '{tail[0]}:{float(tail[1]) * 100:g}%'")
            return cls(spec)  # a ':' inside the path itself
        m = _SPEC.match(spec)
        assert m is not None
        amount = m.group("amount")
        if amount is None:
            return cls(m.group("path"))
        if amount.endswith("%"):
            return cls(m.group("path"), fraction=float(amount[:-1]) / 100.0)
        return cls(m.group("path"), count=int(amount))

    def describe(self) -> str:
        if self.count is not None:
            return f"{self.path}:{self.count}"
        if self.fraction is not None:
            return f"{self.path}:{self.fraction * 100:g}%"
        return self.path


@dataclass
class SourceStats:
    spec: str
    path: str
    sha256: str
    available: int
    selected: int
    sources: dict[str, int] = field(default_factory=dict)  # the records' own `source` field
    sequences: int = 0
    tokens: int = 0
    target_tokens: int = 0
    dropped_too_long: int = 0
    excluded: int = 0  # records left out because their id is in ``exclude``


@dataclass
class MixStats:
    seed: int
    sources: list[SourceStats]

    def to_dict(self) -> dict:
        return asdict(self)

    def table(self) -> str:
        rows = [f"{'source':<40} {'avail':>7} {'picked':>7} {'tokens':>10} {'targets':>9} {'dropped':>7}"]
        for s in self.sources:
            rows.append(f"{s.spec[-40:]:<40} {s.available:>7} {s.selected:>7} {s.tokens:>10} "
                        f"{s.target_tokens:>9} {s.dropped_too_long:>7}")
        return "\n".join(rows)


def select_indices(n: int, source: MixSource, rng: np.random.Generator) -> np.ndarray:
    if source.count is not None:
        if source.count > n:
            raise ValueError(f"{source.path}: asked for {source.count} records but it holds {n}; "
                             f"use a percentage to repeat records (e.g. {100 * source.count / max(n, 1):.0f}%)")
        return np.sort(rng.choice(n, size=source.count, replace=False))
    frac = 1.0 if source.fraction is None else source.fraction
    whole, rest = divmod(frac, 1.0)
    parts = [np.arange(n)] * int(whole)
    parts.append(np.sort(rng.choice(n, size=int(round(rest * n)), replace=False)))
    return np.concatenate(parts).astype(np.int64)


def mix(sources: list[MixSource | str], kind: Kind, *, seed: int = 0, shuffle: bool = True,
        cache_dir: str | Path | None = None, exclude_ids: frozenset[str] | set[str] = frozenset()) -> tuple[list, MixStats]:
    """Records from every source, selected and shuffled with ``seed``, plus per-source stats.
    Each record's ``source`` attribute is left as written; ``MixStats`` counts them. Records whose
    ``id`` is in ``exclude_ids`` are removed from a source before its count or percentage is taken."""
    specs = [MixSource.parse(s) if isinstance(s, str) else s for s in sources]
    if not specs:
        raise ValueError("no data sources given")
    records: list = []
    origin: list[int] = []
    stats = []
    for k, spec in enumerate(specs):
        recs = read_records(spec.path, kind, cache_dir=cache_dir)
        available = len(recs)
        if exclude_ids:
            recs = [r for r in recs if not (r.id and r.id in exclude_ids)]
        idx = select_indices(len(recs), spec, np.random.default_rng([seed, k]))
        picked = [recs[i] for i in idx]
        counts: dict[str, int] = {}
        for r in picked:
            counts[r.source] = counts.get(r.source, 0) + 1
        stats.append(SourceStats(spec.describe(), spec.path, file_sha256(spec.path), available, len(picked),
                                 dict(sorted(counts.items())), excluded=available - len(recs)))
        records.extend(picked)
        origin.extend([k] * len(picked))
    order = np.random.default_rng([seed, len(specs), 7]).permutation(len(records)) if shuffle \
        else np.arange(len(records))
    for r, o in zip(records, origin):
        r.extra["mix_source"] = o
    return [records[i] for i in order], MixStats(seed, stats)


def mixed_ids(sources: list[MixSource | str], *, seed: int = 0, cache_dir: str | Path | None = None) -> frozenset[str]:
    """The ids of the records another run selects from ``sources`` with the same ``seed`` (the
    selection depends only on the specs, their order, the files and the seed, so an SFT run can leave
    out exactly the questions a later DPO run trains and evaluates on). Files of either kind work: a
    preference file is read as its chosen conversations."""
    records, _ = mix(sources, "sft", seed=seed, shuffle=False, cache_dir=cache_dir)
    missing = [r for r in records if not r.id]
    if missing:
        raise ValueError(f"data.exclude: {len(missing)} records of {', '.join(map(str, sources))} have no 'id', "
                         f"so they cannot be matched")
    return frozenset(r.id for r in records)
