"""The decontamination filter: marks the training paragraphs found in a :class:`DecontIndex` and
drops (or only flags) the documents holding one, as datatrove's ``NGramsDecontFilter`` does.

Per training file it writes the attributes (``<name>__decont__contaminated_paragraphs`` spans, one
line per document, the Attributes contract) and, when dropping, the documents without any
contaminated paragraph; it returns the file's stats, which record for every contaminated document
the eval documents and eval paragraphs it matched (what the eval-side flags are made from)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from dolma_tools.decont.index import DecontIndex
from dolma_tools.dedupe.exact import mark_paragraphs
from dolma_tools.dedupe.layout import write_attribute_file
from dolma_tools.docio import iter_documents, write_documents


class DecontFilter:
    """Built by ``DecontConfig.build_filter``: ``attribute`` names the spans, ``drop`` also writes
    the clean documents."""

    def __init__(self, index: DecontIndex, *, attribute: str, drop: bool) -> None:
        self.index = index
        self.attribute = attribute
        self.drop = drop

    def spans(self, text: str, candidates: list[list[float]]) -> tuple[list[list[float]], set[tuple[int, int, int]]]:
        """Of the Bloom filter's candidate spans of one text, those the exact table confirms, and the
        eval paragraphs they match (a paragraph span includes its newline)."""
        confirmed: list[list[float]] = []
        origins: set[tuple[int, int, int]] = set()
        for start, end, _ in candidates:
            s, e = int(start), int(end)
            score, found = self.index.confirm(text[s:e].removesuffix("\n"))
            if found and score >= self.index.threshold - 1e-12:
                confirmed.append([s, e, round(score, 6)])
                origins |= found
        return confirmed, origins

    def scan_file(self, path: Path, rel: Path, attributes: Path, clean: Path | None) -> dict[str, Any]:
        """Scan one training file; write its attributes (and clean copy); return its stats."""
        index = self.index
        docs = [doc for _, doc in iter_documents(path)]
        candidates = mark_paragraphs([d.text for d in docs], index.bloom, ngram_length=index.ngram_length,
                                     threshold=index.threshold) if docs else []
        kept, contaminated, all_spans = [], [], []
        for doc, doc_candidates in zip(docs, candidates, strict=True):
            spans, origins = self.spans(doc.text, doc_candidates)
            all_spans.append(spans)
            if not spans:
                kept.append(doc)
                continue
            contaminated.append({
                "id": doc.id, "source": doc.source or rel.parts[0], "file": str(rel), "paragraphs": len(spans),
                "matches": sorted({index.doc_ids[d] for d, _, _ in origins}),
                "eval_paragraphs": sorted([index.doc_ids[d], s, e] for d, s, e in origins)})
        write_attribute_file(attributes, [d.id for d in docs], self.attribute, all_spans)
        if clean is not None:
            write_documents(clean, kept)
        sources = Counter(d.source or rel.parts[0] for d in docs)
        kept_chars: Counter[str] = Counter()
        for d in kept if clean is not None else docs:
            kept_chars[d.source or rel.parts[0]] += len(d.text)
        return {"file": str(rel), "documents": len(docs), "kept": len(kept) if clean is not None else len(docs),
                "contaminated": contaminated, "sources": dict(sources), "kept_characters": dict(kept_chars)}
