"""One pass over a document file: mergeable statistics per source (counts, length histogram,
attribute values, duplicate and contamination rates, languages, n-grams)."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dolma_tools.analysis.ngrams import NgramCounts

LENGTH_BINS = np.arange(0, 7.25, 0.25)  # log10(characters)
_LANG_KEY = re.compile(r"__ft_lang_id_doc_v1__([a-z]{2,3})$")
MAX_VALUES = 100_000  # attribute values kept per key (reservoir-free: the first ones; enough for a histogram)


@dataclass
class SourceStats:
    documents: int = 0
    characters: int = 0
    bytes: int = 0
    words: int = 0
    tokens: int = 0
    length_hist: np.ndarray = field(default_factory=lambda: np.zeros(len(LENGTH_BINS) - 1, dtype=np.int64))
    languages: Counter[str] = field(default_factory=Counter)
    dup_documents: Counter[str] = field(default_factory=Counter)  # attribute -> documents with a span
    dup_characters: Counter[str] = field(default_factory=Counter)  # attribute -> characters covered
    contaminated_documents: int = 0
    contaminated_characters: int = 0

    def merge(self, o: SourceStats) -> None:
        for k in ("documents", "characters", "bytes", "words", "tokens", "contaminated_documents",
                  "contaminated_characters"):
            setattr(self, k, getattr(self, k) + getattr(o, k))
        self.length_hist += o.length_hist
        self.languages.update(o.languages)
        self.dup_documents.update(o.dup_documents)
        self.dup_characters.update(o.dup_characters)


@dataclass
class FileStats:
    per_source: dict[str, SourceStats] = field(default_factory=dict)
    attribute_values: dict[str, list[float]] = field(default_factory=dict)
    ngrams: dict[int, NgramCounts] = field(default_factory=dict)

    def merge(self, o: FileStats) -> None:
        for s, st in o.per_source.items():
            self.per_source.setdefault(s, SourceStats()).merge(st)
        for k, v in o.attribute_values.items():
            mine = self.attribute_values.setdefault(k, [])
            mine.extend(v[: max(0, MAX_VALUES - len(mine))])
        for n, c in o.ngrams.items():
            if n in self.ngrams:
                self.ngrams[n].merge(c)
            else:
                self.ngrams[n] = c


def attribute_value(spans: list[list[float]], length: int) -> float:
    """A document-level value: the score of a span covering the whole document, else the fraction
    of characters covered by spans."""
    if len(spans) == 1 and spans[0][0] == 0 and spans[0][1] >= length:
        return float(spans[0][2])
    covered = sum(e - s for s, e, _ in spans)
    return covered / length if length else 0.0


@dataclass(frozen=True)
class FileTask:
    path: Path
    attribute_files: tuple[Path, ...]
    ngram_sizes: tuple[int, ...]
    exact_ngrams: bool
    tokenizer: str | None
    contamination_filter: str | None
    language_model: str | None


_CACHE: dict[str, Any] = {}


def _cached(key: str, make: Any) -> Any:
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def collect_file(task: FileTask) -> FileStats:
    from dolma_tools.docio import iter_attributes, iter_documents

    out = FileStats()
    docs = [d for _, d in iter_documents(task.path)]
    attr_rows: list[dict[str, list[list[float]]]] = [{} for _ in docs]
    for af in task.attribute_files:
        rows = [r for _, r in iter_attributes(af)]
        if len(rows) != len(docs):
            raise ValueError(f"{af}: {len(rows)} attribute lines for {len(docs)} documents in {task.path}")
        for i, r in enumerate(rows):
            attr_rows[i].update(r.attributes)
    tokens: list[int] = [0] * len(docs)
    if task.tokenizer is not None:
        from dolma_tools.tokens.tokenizer import load_tokenizer

        spec = _cached("tok:" + task.tokenizer, lambda: load_tokenizer(task.tokenizer))
        for s in range(0, len(docs), 256):
            encs = spec.tokenizer.encode_batch_fast([d.text for d in docs[s:s + 256]], add_special_tokens=False)
            tokens[s:s + 256] = [len(e.ids) for e in encs]
    contamination = None
    if task.contamination_filter is not None:
        from dolma_tools.dedupe import BloomFilter, mark_paragraphs

        bloom = _cached("bloom:" + task.contamination_filter,
                        lambda: BloomFilter.load(task.contamination_filter, read_only=True))
        contamination = mark_paragraphs([d.text for d in docs], bloom)
    model = None
    if task.language_model is not None:
        from dolma_tools.taggers.fasttext_model import load_fasttext

        model = _cached("lid:" + task.language_model, lambda: load_fasttext(task.language_model))
    for i, doc in enumerate(docs):
        st = out.per_source.setdefault(doc.source or "(none)", SourceStats())
        n = len(doc.text)
        st.documents += 1
        st.characters += n
        st.bytes += len(doc.text.encode("utf-8", "surrogatepass"))
        st.words += len(doc.text.split())
        st.tokens += tokens[i]
        st.length_hist += np.histogram([np.log10(max(n, 1))], bins=LENGTH_BINS)[0]
        langs = {}
        for key, spans in attr_rows[i].items():
            vals = out.attribute_values.setdefault(key, [])
            if len(vals) < MAX_VALUES:
                vals.append(attribute_value(spans, n))
            if "duplicate" in key and spans:
                st.dup_documents[key] += 1
                st.dup_characters[key] += int(sum(e - s for s, e, _ in spans))
            if (m := _LANG_KEY.search(key)) and spans:
                langs[m.group(1)] = float(spans[0][2])
        if model is not None:
            from dolma_tools.taggers.fasttext_model import predict_all

            langs = predict_all(model, doc.text, k=1)
        if langs:
            st.languages[max(langs, key=langs.__getitem__)] += 1
        if contamination is not None and contamination[i]:
            st.contaminated_documents += 1
            st.contaminated_characters += int(sum(e - s for s, e, _ in contamination[i]))
    for size in task.ngram_sizes:
        out.ngrams[size] = NgramCounts.count((d.text for d in docs), size, exact=task.exact_ngrams)
    return out
