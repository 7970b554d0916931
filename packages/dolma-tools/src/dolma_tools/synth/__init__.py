"""A scale corpus with known near-duplicates: the shared sample recombined to any size, with exact and
near-duplicate copies planted at stated Jaccard similarities and their true similarity in a key file.

``synth_corpus(documents, destination, SynthConfig(scale=4))`` writes ``documents/part-*.jsonl.gz``
and ``truth.jsonl.gz``; :func:`read_truth` reads the key back."""

from dolma_tools.synth.config import SynthConfig
from dolma_tools.synth.corpus import read_truth, synth_corpus
from dolma_tools.synth.edits import jaccard, shingle_set

__all__ = ["SynthConfig", "jaccard", "read_truth", "shingle_set", "synth_corpus"]
