"""Typed settings of the scale corpus (one default per knob)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SynthConfig:
    """``scale``: output documents = ``scale`` x input documents (characters follow, since each output
    document copies the paragraph count of a random input document of the same source).

    ``near_dup_rate`` / ``exact_dup_rate``: fraction of output documents that are planted near-duplicate
    / exact copies of an earlier document. Near-duplicates are spread evenly over the Jaccard bands
    ``band_edges`` (word ``shingle_size``-grams), each hit by word substitutions, insertions and
    deletions; the key file records the Jaccard measured on the written texts, not the target."""

    scale: float = 1.0
    seed: int = 0
    near_dup_rate: float = 0.10
    exact_dup_rate: float = 0.02
    band_edges: list[float] = field(default_factory=lambda: [0.5, 0.6, 0.7, 0.8, 0.9, 1.0])
    shingle_size: int = 5
    #: copies planted from one original: 1, 2 or 3 with these weights (siblings pair up in the key too)
    copies_weights: list[float] = field(default_factory=lambda: [0.6, 0.25, 0.15])
    #: an original needs this many words so every band is reachable by whole-word edits
    min_words: int = 100
    #: a copy is written up to this many documents after its original (so pairs cross shards)
    max_delay: int = 3000
    #: longer paragraphs are cut at line or sentence ends into units of at most this many characters
    max_unit_chars: int = 1000
    docs_per_shard: int = 2000
    compresslevel: int = 1

    def __post_init__(self) -> None:
        if self.scale <= 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if not 0 <= self.near_dup_rate + self.exact_dup_rate < 1:
            raise ValueError("near_dup_rate + exact_dup_rate must be in [0, 1)")
        edges = list(self.band_edges)
        if len(edges) < 2 or edges != sorted(edges) or edges[0] <= 0 or edges[-1] > 1:
            raise ValueError(f"band_edges must rise within (0, 1], got {edges}")

    @property
    def bands(self) -> list[tuple[float, float]]:
        return list(zip(self.band_edges[:-1], self.band_edges[1:], strict=True))
