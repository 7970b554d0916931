"""What a dedup run compares: a document's *units* (the document itself, or its paragraphs) and each
unit's *items* (what gets hashed into the filter: a key, the whole text, a paragraph, or the word
n-grams of a paragraph).

A unit is a duplicate when the fraction of its items already seen reaches the threshold; with one
item per unit that is plain exact matching. Paragraphs are the pieces between ``\\n``; a paragraph
span ``[start, end)`` counts characters and includes its newline, so deleting the spans of a
document deletes whole lines."""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from dolma_tools.dedupe.bloom import digests_to_hashes
from dolma_tools.dedupe.unitbatch import MODES, UnitBatch, add_document, word_ngrams
from dolma_tools.interfaces import Document

__all__ = ["MODES", "HashedUnits", "UnitBatch", "add_document", "concat_batches", "earlier_in_batch",
           "iter_document_spans", "paragraph_units", "seen_fraction", "selected_units", "spans_per_document",
           "to_hashed", "unit_scores", "word_ngrams"]


def _ints(a: array) -> np.ndarray:
    return np.frombuffer(a, dtype=np.int64).copy() if len(a) else np.zeros(0, dtype=np.int64)


def to_hashed(batch: UnitBatch) -> HashedUnits:
    """A worker's flat arrays as NumPy arrays (what scoring and the filter take)."""
    return HashedUnits(doc_ids=batch.doc_ids, doc_lengths=_ints(batch.doc_lengths), unit_doc=_ints(batch.unit_doc),
                       unit_span=np.stack([_ints(batch.unit_start), _ints(batch.unit_end)], axis=1),
                       unit_items=_ints(batch.unit_items), hashes=digests_to_hashes(batch.digests))


def concat_batches(batches: Iterator[UnitBatch] | Sequence[UnitBatch], seed: int = 0) -> UnitBatch:
    """Consecutive chunks of one file as one batch (document indices renumbered): what n-gram
    marking needs, whose scores depend on the whole file."""
    out = UnitBatch(seed)
    for b in batches:
        base = len(out.doc_ids)
        out.doc_ids.extend(b.doc_ids)
        out.doc_lengths.extend(b.doc_lengths)
        out.unit_doc.extend(d + base for d in b.unit_doc)
        out.unit_start.extend(b.unit_start)
        out.unit_end.extend(b.unit_end)
        out.unit_items.extend(b.unit_items)
        out.digests += b.digests
    return out


@dataclass
class HashedUnits:
    doc_ids: list[str]
    doc_lengths: np.ndarray
    unit_doc: np.ndarray
    unit_span: np.ndarray  # (U, 2) character offsets
    unit_items: np.ndarray  # (U,)
    hashes: np.ndarray  # (N, 2), N = unit_items.sum()

    @property
    def item_unit(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.unit_items)), self.unit_items)


def earlier_in_batch(units: HashedUnits) -> np.ndarray:
    """Per item: does an equal item occur earlier in the batch, in an earlier unit (a unit repeating
    its own n-gram does not make itself a duplicate). Equality is on the first 64 hash bits."""
    if len(units.hashes) == 0:
        return np.zeros(0, dtype=bool)
    item_unit = units.item_unit
    _, first, inverse = np.unique(units.hashes[:, 0], return_index=True, return_inverse=True)
    return item_unit[first[inverse.ravel()]] < item_unit


def unit_scores(units: HashedUnits, item_seen: np.ndarray) -> np.ndarray:
    """Per unit, the fraction of its items flagged in ``item_seen``."""
    if len(units.unit_items) == 0:
        return np.zeros(0)
    if len(item_seen) == len(units.unit_items):  # one item per unit: no averaging needed
        return item_seen.astype(np.float64)
    sums = np.bincount(units.item_unit, weights=item_seen.astype(np.float64), minlength=len(units.unit_items))
    return sums / np.maximum(units.unit_items, 1)


def seen_fraction(units: HashedUnits, seen_before: np.ndarray) -> np.ndarray:
    """Per unit, the fraction of its items seen before it: in the filter already, or earlier in this
    batch in another unit."""
    return unit_scores(units, seen_before | earlier_in_batch(units))


def spans_per_document(units: HashedUnits, scores: np.ndarray, threshold: float) -> list[list[list[float]]]:
    """``[[start, end, score], ...]`` per document for the units whose score reaches ``threshold``."""
    return list(iter_document_spans(units, scores, threshold))


def iter_document_spans(units: HashedUnits, scores: np.ndarray, threshold: float) -> Iterator[list[list[float]]]:
    """:func:`spans_per_document` one document at a time (what a streaming writer takes)."""
    sel = selected_units(scores, threshold)
    docs = units.unit_doc[sel]
    bounds = np.searchsorted(docs, np.arange(len(units.doc_ids) + 1)).tolist()  # units are in document order
    starts, ends, vals = units.unit_span[sel, 0], units.unit_span[sel, 1], np.round(scores[sel], 6)
    for a, b in itertools.pairwise(bounds):
        if a == b:
            yield []
        else:
            yield [list(t) for t in zip(starts[a:b].tolist(), ends[a:b].tolist(), vals[a:b].tolist(), strict=True)]


def selected_units(scores: np.ndarray, threshold: float) -> np.ndarray:
    """Indices of the units whose score reaches ``threshold`` (the ones the spans list)."""
    return np.flatnonzero(scores >= threshold - 1e-12)


def paragraph_units(texts: Sequence[str], *, ngram_length: int = 0, skip_empty: bool = True,
                    seed: int = 0) -> HashedUnits:
    batch = UnitBatch(seed)
    for i, text in enumerate(texts):
        add_document(batch, Document(id=str(i), text=text), mode="paragraph", ngram_length=ngram_length,
                     skip_empty=skip_empty)
    return to_hashed(batch)
