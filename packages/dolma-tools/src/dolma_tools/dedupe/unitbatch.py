"""A document's units and item hashes as flat machine arrays, read from a file in bounded chunks.

This module imports neither NumPy nor the filter: it is all a hashing worker of Bloom dedup loads
(``dedupe.spool`` starts those workers as fresh interpreters), so a worker's resident set is the
interpreter, the reader and one chunk, about a third of an interpreter that also holds NumPy. The
NumPy side (``HashedUnits``, ``to_hashed``, scoring) is ``dedupe.units``."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate, compress
from pathlib import Path

import xxhash

from dolma_tools.docio import iter_documents
from dolma_tools.interfaces import Document

MODES = ("id", "document", "paragraph")
#: items per chunk a file is cut into (after the document that reaches it): what a worker and the
#: filter's owner hold of a file at once, under 1 MiB of digests and unit spans (one filter step, ``bloom._CHUNK``), whatever the file's size
CHUNK_ITEMS = 1 << 14


def item_digests(items: Iterable[bytes], seed: int = 0) -> bytes:
    """The xxh3-128 digests of ``items``, 16 bytes each, concatenated (``bloom.digests_to_hashes``
    turns them into the filter's ``(n, 2)`` array)."""
    digest = xxhash.xxh3_128_digest
    return b"".join([digest(it, seed) for it in items])


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

    @property
    def items(self) -> int:
        return len(self.digests) // 16


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
    lens = list(map(len, pieces))
    ends = list(accumulate([n + 1 for n in lens]))  # a span includes its newline ...
    ends[-1] = len(text)  # ... and the last piece has none
    starts = [e - n - 1 for e, n in zip(ends, lens, strict=True)]
    starts[-1] = ends[-1] - lens[-1]
    shortest = max(min_length, 1 if skip_empty else 0)
    keep = [n >= shortest for n in lens]
    if skip_empty:
        keep = [k and not blank for k, blank in zip(keep, map(str.isspace, pieces), strict=True)]
    if ngram_length <= 0:
        kept_starts = list(compress(starts, keep))
        batch.unit_doc.extend([d] * len(kept_starts))
        batch.unit_start.extend(kept_starts)
        batch.unit_end.extend(compress(ends, keep))
        batch.unit_items.extend([1] * len(kept_starts))
        batch.add_items(compress(text.encode("utf-8", "surrogatepass").split(b"\n"), keep))
        return
    for p, s, e in zip(compress(pieces, keep), compress(starts, keep), compress(ends, keep), strict=True):
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


def iter_unit_chunks(path: str | Path, *, mode: str, key: str = "id", ngram_length: int = 0,
                     skip_empty: bool = True, min_length: int = 0, seed: int = 0,
                     chunk_items: int = CHUNK_ITEMS) -> Iterator[UnitBatch]:
    """The documents of ``path`` in order, as batches of whole documents, each closed after the
    document that brings it to ``chunk_items`` items (the last may be smaller; a file without
    documents gives one empty batch, so every file yields at least one)."""
    batch, yielded = UnitBatch(seed), False
    for _, doc in iter_documents(path):
        add_document(batch, doc, mode=mode, key=key, ngram_length=ngram_length, skip_empty=skip_empty,
                     min_length=min_length)
        if batch.items >= chunk_items:
            yield batch
            batch, yielded = UnitBatch(seed), True
    if batch.doc_ids or not yielded:
        yield batch
