"""Taggers: attributes for documents, as ``[start, end, score]`` spans (see :mod:`.base`)."""

from dolma_tools.taggers.base import TAGGERS, Tagger, get_tagger, list_taggers, register_tagger

__all__ = ["TAGGERS", "Tagger", "get_tagger", "list_taggers", "register_tagger"]
