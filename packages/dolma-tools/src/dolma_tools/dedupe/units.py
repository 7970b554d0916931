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
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress

import numpy as np

from dolma_tools.dedupe.bloom import digests_to_hashes, item_digests
from dolma_tools.interfaces import Document

MODES = ("id", "document", "paragraph")


def _ints() -> array:
    return array("q")


@dataclass
class UnitBatch:
    """The units and items of a run of documents, as flat arrays (what a worker sends back). Items
    are hashed as they are added, so a file's text is never held twice: what grows per item is its
    16-byte digest and a few machine integers per unit."""

    seed: int = 0
    doc_ids: list[str] = field(default_factory=list)
    doc_lengths: array = field(default_factory=_ints)
    unit_doc: array = field(default_factory=_ints)  # document index of each unit
    unit_start: array = field(default_factory=_ints)
    unit_end: array = field(default_factory=_ints)
    unit_items: array = field(default_factory=_ints)  # number of items of each unit
    digests: bytearray = field(default_factory=bytearray)

    def add_items(self, items: Iterable[bytes]) -> None:
        self.digests += item_digests(items, self.seed)

    def hashed(self) -> HashedUnits:
        def ints(a: array) -> np.ndarray:
            return np.frombuffer(a, dtype=np.int64).copy() if len(a) else np.zeros(0, dtype=np.int64)

        return HashedUnits(doc_ids=self.doc_ids, doc_lengths=ints(self.doc_lengths), unit_doc=ints(self.unit_doc),
                           unit_span=np.stack([ints(self.unit_start), ints(self.unit_end)], axis=1),
                           unit_items=ints(self.unit_items), hashes=digests_to_hashes(self.digests))


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


def _get_key(doc: Document, key: str) -> str:
    if key == "id":
        return doc.id
    obj: object = doc.to_json()
    for part in key.split("."):
        if not isinstance(obj, dict) or part not in obj:
            raise KeyError(f"document {doc.id!r} has no field {key!r}")
        obj = obj[part]
    return str(obj)


def add_document(batch: UnitBatch, doc: Document, *, mode: str, key: str = "id", ngram_length: int = 0,
                 skip_empty: bool = True, min_length: int = 0) -> None:
    """Append one document's units and items to ``batch``."""
    d = len(batch.doc_ids)
    text = doc.text
    batch.doc_ids.append(doc.id)
    batch.doc_lengths.append(len(text))
    if mode in ("id", "document"):
        item = _get_key(doc, key) if mode == "id" else text
        if (skip_empty and not item.strip()) or len(item) < min_length:
            return
        batch.unit_doc.append(d)
        batch.unit_start.append(0)
        batch.unit_end.append(len(text))
        batch.unit_items.append(1)
        batch.add_items([item.encode("utf-8", "surrogatepass")])
        return
    if mode != "paragraph":
        raise ValueError(f"unknown dedupe mode {mode!r}; choose from {MODES}")
    if not text:
        return
    pieces = text.split("\n")
    lens = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
    ends = np.cumsum(lens + 1)
    ends[-1] = len(text)  # the last piece has no newline after it
    starts = ends - lens - 1
    starts[-1] = ends[-1] - lens[-1]
    keep = lens >= max(min_length, 1 if skip_empty else 0)
    if skip_empty:
        keep &= ~np.fromiter(map(str.isspace, pieces), dtype=bool, count=len(pieces))
    idx = np.flatnonzero(keep)
    if ngram_length <= 0:
        batch.unit_doc.extend([d] * len(idx))
        batch.unit_start.extend(starts[idx].tolist())
        batch.unit_end.extend(ends[idx].tolist())
        batch.unit_items.extend([1] * len(idx))
        raw = text.encode("utf-8", "surrogatepass").split(b"\n")
        batch.add_items(compress(raw, keep.tolist()))
        return
    kept_pieces = list(compress(pieces, keep.tolist()))
    kept_ends = ends[idx].tolist()
    starts = starts[idx].tolist()
    for p, s, e in zip(kept_pieces, starts, kept_ends, strict=True):
        grams = word_ngrams(p, ngram_length)
        if not grams:
            continue
        batch.unit_doc.append(d)
        batch.unit_start.append(s)
        batch.unit_end.append(e)
        batch.unit_items.append(len(grams))
        batch.add_items(g.encode("utf-8", "surrogatepass") for g in grams)


def word_ngrams(paragraph: str, n: int) -> list[str]:
    """The word ``n``-grams of a paragraph joined by single spaces; a paragraph of at most ``n`` words
    is its one n-gram, an empty one has none."""
    words = paragraph.split()
    if len(words) <= n:
        return [" ".join(words)] if words else []
    return [" ".join(words[i:i + n]) for i in range(len(words) - n + 1)]


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
    return batch.hashed()
