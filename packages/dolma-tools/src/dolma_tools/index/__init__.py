"""A suffix-array index over token shards: which token sequences occur in the training data, how
often, and where (document, raw shard, offset). Built out of core (``build``), queried memory-mapped
(``query``)."""

from dolma_tools.index.build import IndexConfig, build_index
from dolma_tools.index.query import Occurrence, Span, TokenIndex

__all__ = ["IndexConfig", "Occurrence", "Span", "TokenIndex", "build_index"]
