"""Decontamination: an index of evaluation paragraphs (or their word n-grams) built from eval data
given as Dolma documents, and a filter that flags the training paragraphs found in it and drops the
documents holding one; the eval documents get flags back (which of their paragraphs training data
contains). In the style of datatrove's ``decont`` steps (an indexer, then a filter).

    report = decontaminate("eval_documents/", "train/", "out/decon", DecontConfig(ngram_length=0))

The index is cached by the content of the eval documents, so other eval data never reuse a stale
filter. See :mod:`.run` for the output layout."""

from dolma_tools.decont.config import DecontConfig
from dolma_tools.decont.filter import DecontFilter
from dolma_tools.decont.index import DecontIndex, DecontIndexer
from dolma_tools.decont.run import decontaminate

__all__ = ["DecontConfig", "DecontFilter", "DecontIndex", "DecontIndexer", "decontaminate"]
