"""The decontamination settings, a typed config that builds the index and the filter.

No ``from __future__ import annotations``: OmegaConf reads these annotations at run time (the
pipeline config embeds this dataclass)."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional  # noqa: UP035

from dolma_tools.decont.filter import DecontFilter
from dolma_tools.decont.index import DecontIndex, DecontIndexer

#: attribute ``<name>__decont__contaminated_paragraphs`` on training documents and on eval documents
TAGGER = "decont"
ATTRIBUTE = "contaminated_paragraphs"


@dataclass
class DecontConfig:
    """How eval paragraphs are indexed and training paragraphs matched against them.

    An eval paragraph (a piece of an eval document between ``\\n``) is indexed when it has at least
    ``min_words`` words (13, as OLMo's decontamination). ``ngram_length = 0`` matches whole
    paragraphs exactly; ``N > 0`` indexes the word N-grams of the eval paragraphs and marks a
    training paragraph when at least ``threshold`` of its N-grams are in the index (datatrove's
    n-gram decontamination uses 13-grams). Every Bloom filter hit is confirmed against the exact
    eval items, so a false positive never marks a paragraph. ``drop``: also write the training
    documents without any contaminated paragraph (otherwise only flag them in attributes)."""

    name: str = "decontam"
    min_words: int = 13
    ngram_length: int = 0
    threshold: float = 1.0
    false_positive_rate: float = 1e-6
    seed: int = 0
    drop: bool = True
    #: where filters are cached, by content key (default: ``<destination>/index``)
    index_dir: Optional[str] = None  # noqa: UP045

    @property
    def attribute(self) -> str:
        return f"{self.name}__{TAGGER}__{ATTRIBUTE}"

    def validate(self) -> None:
        if self.min_words < 0 or self.ngram_length < 0:
            raise ValueError(f"decontamination: min_words ({self.min_words}) and ngram_length "
                             f"({self.ngram_length}) must be >= 0")
        if not 0.0 < self.threshold <= 1.0:
            raise ValueError(f"decontamination: threshold must be in (0, 1], got {self.threshold}")

    def build_index(self, eval_documents: Any, index_dir: str | Path) -> DecontIndex:
        """The index of ``eval_documents`` (files, folders or globs), loaded from ``index_dir`` when
        one with the same content key is there, else built and saved (see :mod:`.index`)."""
        self.validate()
        indexer = DecontIndexer(min_words=self.min_words, ngram_length=self.ngram_length, threshold=self.threshold,
                                false_positive_rate=self.false_positive_rate, seed=self.seed)
        return indexer.index(eval_documents, Path(self.index_dir or index_dir))

    def build_filter(self, index: DecontIndex) -> DecontFilter:
        return DecontFilter(index, attribute=self.attribute, drop=self.drop)
