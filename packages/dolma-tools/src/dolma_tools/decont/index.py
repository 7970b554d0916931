"""The decontamination index, built from evaluation data given as Dolma documents (one document per
eval instance, e.g. from ``olmo-eval decontaminate export``), as datatrove's ``NGramsDecontIndexer``
builds one from its tasks.

The index holds every qualifying eval paragraph (or each of its word n-grams) twice: in a Bloom
filter, which the scan queries in bulk, and in an exact table ``item -> [(eval document, paragraph
start, end)]``, which confirms each hit and says which eval documents it came from. The filter is
cached as ``<index_dir>/eval-<key>.bloom``; the key hashes the eval documents' ids and texts and the
index settings, so an export of other tasks (or of changed data) gets its own filter and a stale
one is never reused."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolma_tools.dedupe.bloom import BloomFilter
from dolma_tools.dedupe.units import word_ngrams
from dolma_tools.docio import expand_inputs_with_base, iter_documents
from dolma_tools.hashing import StreamHash, json_key

#: (eval document index, paragraph start, paragraph end): where an indexed item came from
Origin = tuple[int, int, int]


@dataclass
class EvalFile:
    """One eval document file and the range of the index's documents read from it."""

    path: Path
    base: Path
    first: int
    count: int


@dataclass
class DecontIndex:
    key: str
    path: Path
    rebuilt: bool
    bloom: BloomFilter
    ngram_length: int
    threshold: float
    items: dict[str, list[Origin]]
    doc_ids: list[str] = field(default_factory=list)
    doc_sources: list[str] = field(default_factory=list)
    doc_lengths: list[int] = field(default_factory=list)
    files: list[EvalFile] = field(default_factory=list)
    #: distinct indexed paragraphs per eval source
    paragraphs_per_source: dict[str, int] = field(default_factory=dict)
    paragraphs: int = 0

    def confirm(self, paragraph: str) -> tuple[float, set[Origin]]:
        """The exact score of a training paragraph (the fraction of its items that are eval items;
        0 or 1 for whole paragraphs) and the eval paragraphs it shares items with."""
        items = word_ngrams(paragraph, self.ngram_length) if self.ngram_length > 0 else [paragraph]
        found = [self.items[i] for i in items if i in self.items]
        return (len(found) / len(items) if items else 0.0), {o for owners in found for o in owners}

    def summary(self) -> dict[str, Any]:
        return {"key": self.key, "path": str(self.path), "rebuilt": self.rebuilt,
                "eval_files": len(self.files), "eval_documents": len(self.doc_ids),
                "eval_paragraphs": self.paragraphs, "items": len(self.items),
                "ngram_length": self.ngram_length, "num_bits": self.bloom.params.num_bits,
                "num_hashes": self.bloom.params.num_hashes}


@dataclass(frozen=True)
class DecontIndexer:
    """Reads eval documents and returns their :class:`DecontIndex`, reusing a cached filter only
    when its content key matches (built by ``DecontConfig.build_index``, which documents the fields)."""

    min_words: int
    ngram_length: int
    threshold: float
    false_positive_rate: float
    seed: int

    def settings(self) -> dict[str, Any]:
        """What decides an index besides the eval documents (part of its cache key)."""
        return {"min_words": self.min_words, "ngram_length": self.ngram_length,
                "false_positive_rate": self.false_positive_rate, "seed": self.seed}

    def index(self, eval_documents: Any, index_dir: Path) -> DecontIndex:
        cfg = self
        files = expand_inputs_with_base(eval_documents)
        if not files:
            raise FileNotFoundError(f"no eval document files in {eval_documents!r}")
        content = StreamHash()
        items: dict[str, list[Origin]] = defaultdict(list)
        per_source: dict[str, set[str]] = defaultdict(set)
        ids: list[str] = []
        sources: list[str] = []
        lengths: list[int] = []
        eval_files: list[EvalFile] = []
        for path, base in files:
            first = len(ids)
            for _, doc in iter_documents(path):
                content.update(doc.id)
                content.update(doc.text)
                d = len(ids)
                ids.append(doc.id)
                sources.append(doc.source or path.relative_to(base).parts[0])
                lengths.append(len(doc.text))
                start = 0
                for para in doc.text.split("\n"):
                    end = start + len(para)
                    if para.strip() and len(para.split()) >= cfg.min_words:
                        per_source[sources[-1]].add(para)
                        grams = word_ngrams(para, cfg.ngram_length) if cfg.ngram_length > 0 else [para]
                        for g in dict.fromkeys(grams):
                            items[g].append((d, start, end))
                    start = end + 1
            eval_files.append(EvalFile(path=path, base=base, first=first, count=len(ids) - first))
        key = json_key({"content": content.hexdigest(), "settings": self.settings()})
        bloom_path = Path(index_dir) / f"eval-{key}.bloom"
        rebuilt = not bloom_path.is_file()
        if rebuilt:
            BloomFilter.build(list(items), false_positive_rate=cfg.false_positive_rate, seed=cfg.seed).save(bloom_path)
        bloom = BloomFilter.load(bloom_path, read_only=True)
        return DecontIndex(key=key, path=bloom_path, rebuilt=rebuilt, bloom=bloom, ngram_length=cfg.ngram_length,
                           threshold=cfg.threshold if cfg.ngram_length > 0 else 1.0, items=dict(items),
                           doc_ids=ids, doc_sources=sources, doc_lengths=lengths, files=eval_files,
                           paragraphs_per_source={s: len(p) for s, p in sorted(per_source.items())},
                           paragraphs=len({p for ps in per_source.values() for p in ps}))
