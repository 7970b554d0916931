"""The mixer: filter documents by rules over attributes, replace spans, sample, write shards."""

from dolma_tools.mixer.config import MixConfig, RecipeConfig, SpanReplacementConfig, TagSetConfig, load_recipe
from dolma_tools.mixer.expressions import AttributeView, Expression
from dolma_tools.mixer.run import aggregate, copies_for, mix

__all__ = ["AttributeView", "Expression", "MixConfig", "RecipeConfig", "SpanReplacementConfig", "TagSetConfig",
           "aggregate", "copies_for", "load_recipe", "mix"]
