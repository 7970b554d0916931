"""Corpus analysis: sizes per source, attribute histograms, languages, duplicate and contamination
rates, top n-grams (exact or count-min sketch); JSON, PNG plots and a markdown summary."""

from dolma_tools.analysis.ngrams import CountMinSketch, NgramCounts, word_ngrams
from dolma_tools.analysis.run import AnalysisConfig, analyze

__all__ = ["AnalysisConfig", "CountMinSketch", "NgramCounts", "analyze", "word_ngrams"]
