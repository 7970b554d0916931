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
    """Near-duplicate documents by MinHash LSH over word shingles.

    ``bands * rows`` hash functions; two documents with Jaccard similarity ``s`` become candidates
    with probability ``1 - (1 - s^rows)^bands``. The default 20 bands x 5 rows puts the 50% point
    near ``(1/bands)^(1/rows) = 0.55``; candidate pairs are then kept as duplicates only if their
    signature agreement reaches ``threshold``."""

    name: str = "minhash"
    shingle_size: int = 5
    bands: int = 20
    rows: int = 5
    threshold: float = 0.7
    seed: int = 1
    processes: int = 1
    precision_sample: int = 500


def register_configs() -> None:
    """Register with hydra's ConfigStore (done by the pipeline; the dedupe command skips the import)."""
    from hydra.core.config_store import ConfigStore

    ConfigStore.instance().store(group="dedupe", name="bloom", node=BloomDedupeConfig)
    ConfigStore.instance().store(group="dedupe", name="minhash", node=MinHashConfig)
