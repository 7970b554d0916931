"""What a dedup run compares: a document's *units* (the document itself, or its paragraphs) and each
unit's *items* (what gets hashed into the filter: a key, the whole text, a paragraph, or the word
n-grams of a paragraph).

A unit is a duplicate when the fraction of its items already seen reaches the threshold; with one
item per unit that is plain exact matching. Paragraphs are the pieces between ``\\n``; a paragraph
span ``[start, end)`` counts characters and includes its newline, so deleting the spans of a
document deletes whole lines."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress

import numpy as np

from dolma_tools.dedupe.bloom import hash_items
from dolma_tools.interfaces import Document

MODES = ("id", "document", "paragraph")


@dataclass
class UnitBatch:
    """The units and items of a run of documents, as flat arrays (what a worker sends back)."""

    doc_ids: list[str] = field(default_factory=list)
    doc_lengths: list[int] = field(default_factory=list)
    unit_doc: list[int] = field(default_factory=list)  # document index of each unit
    unit_start: list[int] = field(default_factory=list)
    unit_end: list[int] = field(default_factory=list)
    unit_items: list[int] = field(default_factory=list)  # number of items of each unit
    items: list[bytes] = field(default_factory=list)

    def hashed(self, seed: int) -> HashedUnits:
        return HashedUnits(doc_ids=self.doc_ids, doc_lengths=np.asarray(self.doc_lengths, dtype=np.int64),
                           unit_doc=np.asarray(self.unit_doc, dtype=np.int64),
                           unit_span=np.stack([np.asarray(self.unit_start, dtype=np.int64),
                                               np.asarray(self.unit_end, dtype=np.int64)], axis=1)
                           if self.unit_start else np.zeros((0, 2), dtype=np.int64),
                           unit_items=np.asarray(self.unit_items, dtype=np.int64),
                           hashes=hash_items(self.items, seed))


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
        batch.items.append(item.encode("utf-8", "surrogatepass"))
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
        batch.items.extend(compress(raw, keep.tolist()))
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
        batch.items.extend(g.encode("utf-8", "surrogatepass") for g in grams)


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
    out: list[list[list[float]]] = [[] for _ in units.doc_ids]
    sel = np.flatnonzero(scores >= threshold - 1e-12)
    if len(sel) == 0:
        return out
    docs = units.unit_doc[sel].tolist()
    starts = units.unit_span[sel, 0].tolist()
    ends = units.unit_span[sel, 1].tolist()
    vals = np.round(scores[sel], 6).tolist()
    for d, s, e, v in zip(docs, starts, ends, vals, strict=True):
        out[d].append([s, e, v])
    return out


def paragraph_units(texts: Sequence[str], *, ngram_length: int = 0, skip_empty: bool = True,
                    seed: int = 0) -> HashedUnits:
    batch = UnitBatch()
    for i, text in enumerate(texts):
        add_document(batch, Document(id=str(i), text=text), mode="paragraph", ngram_length=ngram_length,
                     skip_empty=skip_empty)
    return batch.hashed(seed)
