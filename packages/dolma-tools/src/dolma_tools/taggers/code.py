"""Simple code heuristics (as used to filter code in The Stack / StarCoder data)."""

from __future__ import annotations

from dolma_tools.interfaces import Document
from dolma_tools.taggers.base import Spans, Tagger, doc_span, register_tagger

COMMENT_PREFIXES = ("#", "//", "/*", "*", "--", ";", '"""', "'''")


@register_tagger("code_heuristics_v1")
class CodeHeuristicsV1(Tagger):
    """``alphanumeric_fraction``: characters with str.isalnum() / all characters (0 for empty);
    ``max_line_length`` and ``mean_line_length`` over ``text.split("\\n")``;
    ``comment_fraction``: non-blank lines whose stripped text starts with one of
    # // /* * -- ; \"\"\" ''' / non-blank lines (0 when there are none)."""

    def predict(self, doc: Document) -> Spans:
        text = doc.text
        lines = text.split("\n")
        lengths = [len(line) for line in lines]
        nonblank = [line.strip() for line in lines if line.strip()]
        comments = sum(1 for s in nonblank if s.startswith(COMMENT_PREFIXES))
        alnum = sum(1 for c in text if c.isalnum())
        return {
            "alphanumeric_fraction": [doc_span(doc, alnum / len(text) if text else 0.0)],
            "max_line_length": [doc_span(doc, max(lengths))],
            "mean_line_length": [doc_span(doc, sum(lengths) / len(lengths))],
            "comment_fraction": [doc_span(doc, comments / len(nonblank) if nonblank else 0.0)],
        }
