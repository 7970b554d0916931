"""Dedup: exact (ids, documents, paragraphs, paragraph n-grams) with a Bloom filter, and near-duplicate
documents with MinHash LSH. See ``bloom`` for the filter and its file format.

The names below load on first use: Bloom dedup's hashing workers import ``dedupe.spool`` and must
not pull NumPy and the filter in through this package (see ``dedupe.unitbatch``)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_BLOOM, _CONFIG, _EXACT = "dolma_tools.dedupe.bloom", "dolma_tools.dedupe.config", "dolma_tools.dedupe.exact"
#: name -> the module defining it: a static table, so no name read from anywhere picks what is imported
_WHERE = {
    "BloomFilter": _BLOOM, "BloomFilterError": _BLOOM, "BloomParams": _BLOOM, "hash_items": _BLOOM,
    "measure_false_positive_rate": _BLOOM, "BloomDedupeConfig": _CONFIG, "MinHashConfig": _CONFIG,
    "build_paragraph_filter": _EXACT, "dedupe_files": _EXACT, "mark_paragraphs": _EXACT,
}
__all__ = ["BloomDedupeConfig", "BloomFilter", "BloomFilterError", "BloomParams", "MinHashConfig",
           "build_paragraph_filter", "dedupe_files", "hash_items", "mark_paragraphs", "measure_false_positive_rate"]

if TYPE_CHECKING:
    from dolma_tools.dedupe.bloom import (
        BloomFilter,
        BloomFilterError,
        BloomParams,
        hash_items,
        measure_false_positive_rate,
    )
    from dolma_tools.dedupe.config import BloomDedupeConfig, MinHashConfig
    from dolma_tools.dedupe.exact import build_paragraph_filter, dedupe_files, mark_paragraphs


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'dolma_tools.dedupe' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
