"""Language identification with fastText ``lid.176`` (document and paragraph level)."""

from __future__ import annotations

import re

from dolma_tools.interfaces import Document
from dolma_tools.taggers.base import Spans, Tagger, doc_span, register_tagger
from dolma_tools.taggers.fasttext_model import default_lid_model_path, load_fasttext, predict_all

_PARAGRAPH = re.compile(r"[^\n]*\n|[^\n]+$")


def line_paragraphs(text: str) -> list[tuple[int, int]]:
    """Dolma's paragraphs: each line with its newline, blank ones dropped."""
    return [m.span() for m in _PARAGRAPH.finditer(text) if m.group().strip()]


class _LidTagger(Tagger):
    def __init__(self, model_path: str | None = None) -> None:
        self.model = load_fasttext(str(model_path or default_lid_model_path()))

    def en_score(self, text: str) -> float:
        return predict_all(self.model, text).get("en", 0.0)


@register_tagger("ft_lang_id_en_doc_v2")
class FastTextEnglishDoc(_LidTagger):
    """fastText lid.176 on the whole document (lower-cased, newlines as spaces): ``en`` (probability
    of English, 0 if not among the predictions) and ``not_en`` (1 - en). Option ``model_path``
    (default: the shipped lid.176.ftz, or $DOLMA_TOOLS_LID_MODEL). Same names as Dolma's tagger."""

    def predict(self, doc: Document) -> Spans:
        en = self.en_score(doc.text)
        return {"en": [doc_span(doc, en)], "not_en": [doc_span(doc, 1.0 - en)]}


@register_tagger("ft_lang_id_en_paragraph_with_doc_score_v2")
class FastTextEnglishParagraph(_LidTagger):
    """fastText lid.176 per paragraph (each non-blank line): spans ``en`` and ``not_en`` per
    paragraph, and the document scores ``doc_en`` = sum(len(paragraph) * en) / len(text) and
    ``doc_not_en`` = 1 - doc_en (both 0 for an empty text). Option ``model_path``."""

    def predict(self, doc: Document) -> Spans:
        text = doc.text
        en: list[list[float]] = []
        not_en: list[list[float]] = []
        weighted = 0.0
        for s, e in line_paragraphs(text):
            score = self.en_score(text[s:e])
            en.append([s, e, score])
            not_en.append([s, e, 1.0 - score])
            weighted += (e - s) * score
        doc_en = weighted / len(text) if text else 0.0
        out: Spans = {"doc_en": [doc_span(doc, doc_en)],
                      "doc_not_en": [doc_span(doc, 1.0 - doc_en if text else 0.0)]}
        if en:
            out["en"], out["not_en"] = en, not_en
        return out


@register_tagger("ft_lang_id_doc_v1")
class FastTextLanguageDoc(_LidTagger):
    """fastText lid.176 on the whole document: one attribute per language among the top ``k``
    (default 3) with its probability, named by ISO code (``en``, ``de``, ``zh``...), plus
    ``top_score``. Option ``model_path``."""

    def __init__(self, model_path: str | None = None, k: int = 3) -> None:
        super().__init__(model_path)
        self.k = k

    def predict(self, doc: Document) -> Spans:
        preds = predict_all(self.model, doc.text, k=self.k)
        out: Spans = {lang: [doc_span(doc, p)] for lang, p in preds.items()}
        out["top_score"] = [doc_span(doc, max(preds.values(), default=0.0))]
        return out
