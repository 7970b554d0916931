"""Length and word counts."""

from __future__ import annotations

import blingfire

from dolma_tools.interfaces import Document
from dolma_tools.taggers.base import Spans, Tagger, doc_span, register_tagger, utf8_safe


@register_tagger("char_length_v1")
class CharLengthV1(Tagger):
    """``length``: the number of characters (Unicode code points) of the text, as Dolma's char_length_v1."""

    def predict(self, doc: Document) -> Spans:
        return {"length": [doc_span(doc, len(doc.text))]}


def blingfire_word_count(text: str) -> int:
    """Words as blingfire's ``text_to_words`` separates them (punctuation marks are words)."""
    if not text.strip():
        return 0
    return len(blingfire.text_to_words(utf8_safe(text)).split())


@register_tagger("length_v1")
class LengthV1(Tagger):
    """Document counts: ``characters`` (code points), ``bytes`` (UTF-8), ``whitespace_words``
    (``text.split()``), ``words`` (blingfire word tokenization: punctuation separated from words),
    ``lines`` (``text.split("\\n")``), ``paragraphs`` (blocks separated by blank lines, non-empty)."""

    def predict(self, doc: Document) -> Spans:
        text = doc.text
        paragraphs = sum(1 for p in text.replace("\r\n", "\n").split("\n\n") if p.strip())
        return {
            "characters": [doc_span(doc, len(text))],
            "bytes": [doc_span(doc, len(text.encode("utf-8", errors="surrogatepass")))],
            "whitespace_words": [doc_span(doc, len(text.split()))],
            "words": [doc_span(doc, blingfire_word_count(text))],
            "lines": [doc_span(doc, len(text.split("\n")))],
            "paragraphs": [doc_span(doc, paragraphs)],
        }
