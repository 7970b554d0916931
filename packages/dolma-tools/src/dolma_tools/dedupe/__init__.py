"""Dedup: exact (ids, documents, paragraphs, paragraph n-grams) with a Bloom filter, and near-duplicate
documents with MinHash LSH. See ``bloom`` for the filter and its file format."""

from dolma_tools.dedupe.bloom import (
           BloomFilter,
           BloomFilterError,
           BloomParams,
           hash_items,
           measure_false_positive_rate,
)
from dolma_tools.dedupe.config import BloomDedupeConfig, MinHashConfig
from dolma_tools.dedupe.exact import build_paragraph_filter, dedupe_files, mark_paragraphs

__all__ = ["BloomDedupeConfig", "BloomFilter", "BloomFilterError", "BloomParams", "MinHashConfig",
           "build_paragraph_filter", "dedupe_files", "hash_items", "mark_paragraphs", "measure_false_positive_rate"]
