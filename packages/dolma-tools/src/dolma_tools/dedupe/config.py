"""Typed dedup settings (a hydra structured config), shared by the command and the pipeline."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class BloomDedupeConfig:
    """Exact (or n-gram overlap) dedup with a Bloom filter.

    ``mode``: ``id`` (a key such as ``id`` or ``metadata.url``), ``document`` (the whole text) or
    ``paragraph`` (newline-separated pieces). With ``ngram_length > 0`` a paragraph is a duplicate
    when at least ``threshold`` of its word n-grams were seen before."""

    mode: str = "paragraph"
    name: str = "dedupe"
    key: str = "id"
    ngram_length: int = 0
    threshold: float = 0.5
    skip_empty: bool = True
    min_length: int = 0
    expected_items: int = 0  # 0: estimated from the input size
    false_positive_rate: float = 1e-6
    seed: int = 0
    filter_path: str | None = None  # an existing filter to start from (or only to mark with)
    read_only: bool = False  # mark against ``filter_path`` without adding anything
    save_filter: str | None = None
    processes: int = 1


@dataclass
class MinHashConfig:
    """Near-duplicate documents by MinHash LSH over word shingles (``dedupe.minhash``).

    ``bands * rows`` hash functions; two documents with Jaccard similarity ``s`` become candidates
    with probability ``1 - (1 - s^rows)^bands``. The defaults are datatrove's (``MinhashConfig``:
    5-grams, 14 buckets of 8 hashes): 50% near ``(1/bands)^(1/rows) = 0.72``, 92% at 0.8. A candidate
    pair joins a cluster only if its ``verify`` score (``exact`` Jaccard, ``signature`` agreement or
    ``none``) reaches ``threshold``. ``merge_records`` bounds the bucket records sorted in memory at
    once; the stage files go to a temporary folder under ``work_dir`` (removed unless ``keep_work``)."""

    name: str = "minhash"
    shingle_size: int = 5
    bands: int = 14
    rows: int = 8
    threshold: float = 0.8
    seed: int = 1
    processes: int = 1
    precision_sample: int = 500
    verify: str = "exact"
    merge_records: int = 4_000_000
    work_dir: str | None = None
    keep_work: bool = False


def register_configs() -> None:
    """Register with hydra's ConfigStore (done by the pipeline; the dedupe command skips the import)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group="dedupe", name="bloom", node=BloomDedupeConfig)
    ConfigStore.instance().store(group="dedupe", name="minhash", node=MinHashConfig)
