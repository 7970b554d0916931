"""Marking one file's units against the filter as its chunks arrive, yielding its attribute rows.

Whole units (a document, a paragraph) are exact items, so a file is marked chunk by chunk with
``CheckAndAddStream``: the same bits tested and set in the same steps as one pass over the whole
file, so the rows are byte-identical to it and memory is one chunk. Paragraph n-grams (several items
per unit, a unit's items must not see each other, items are added only after the whole file is
scored) depend on the whole file, so that mode alone gathers a file's chunks first. Read-only marking
never changes the filter and is chunk-local by nature."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import numpy as np

from dolma_tools.dedupe.bloom import BloomFilter, CheckAndAddStream
from dolma_tools.dedupe.config import BloomDedupeConfig
from dolma_tools.dedupe.unitbatch import UnitBatch
from dolma_tools.dedupe.units import (
    HashedUnits,
    concat_batches,
    iter_document_spans,
    seen_fraction,
    selected_units,
    to_hashed,
    unit_scores,
)
from dolma_tools.npsets import count_unique

STAT_KEYS = ("documents", "units", "duplicate_units", "duplicate_chars", "documents_with_duplicates", "chars")
Row = tuple[str, list[list[float]]]


def mark_file(chunks: Iterable[UnitBatch], bloom: BloomFilter, config: BloomDedupeConfig,
              stats: dict[str, int]) -> Iterator[Row]:
    """``(document id, duplicate spans)`` for every document of one file, in order; ``stats`` (keys
    ``STAT_KEYS``) is filled as rows are produced and complete once they are all taken. A writable
    filter learns the file's items; the stream must be read to its end."""
    threshold = config.threshold if config.ngram_length > 0 else 1.0
    for k in STAT_KEYS:
        stats.setdefault(k, 0)
    if bloom.read_only:
        for batch in chunks:
            units = to_hashed(batch)
            yield from _rows(units, unit_scores(units, bloom.contains_hashes(units.hashes)), threshold, stats)
        return
    if config.ngram_length > 0:
        units = to_hashed(concat_batches(chunks, config.seed))
        seen = bloom.contains_hashes(units.hashes)
        scores = seen_fraction(units, seen)
        bloom.add_hashes(units.hashes[~seen])
        yield from _rows(units, scores, threshold, stats)
        return
    stream = CheckAndAddStream(bloom)
    for batch in chunks:
        units = to_hashed(batch)
        seen, earlier = stream.check(units.hashes)
        yield from _rows(units, unit_scores(units, seen | earlier), threshold, stats)
    stream.close()


def _rows(units: HashedUnits, scores: np.ndarray, threshold: float, stats: dict[str, int]) -> Iterator[Row]:
    sel = selected_units(scores, threshold)
    stats["documents"] += len(units.doc_ids)
    stats["units"] += len(units.unit_items)
    stats["duplicate_units"] += len(sel)
    stats["duplicate_chars"] += int((units.unit_span[sel, 1] - units.unit_span[sel, 0]).sum())
    stats["documents_with_duplicates"] += count_unique(units.unit_doc[sel])
    stats["chars"] += int(units.doc_lengths.sum())
    yield from zip(units.doc_ids, iter_document_spans(units, scores, threshold), strict=True)
