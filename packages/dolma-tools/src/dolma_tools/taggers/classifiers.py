"""fastText classifiers (quality, toxicity, anything trained with ``dolma-tools train-classifier``)."""

from __future__ import annotations

import blingfire

from dolma_tools.interfaces import Document
from dolma_tools.taggers.base import Spans, Tagger, doc_span, register_tagger, utf8_safe
from dolma_tools.taggers.fasttext_model import load_fasttext, predict_all


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Sentences by blingfire, as character offsets into ``text``."""
    if not text.strip():
        return []
    _, offsets = blingfire.text_to_sentences_and_offsets(utf8_safe(text))
    return [(int(s), int(e)) for s, e in offsets]


@register_tagger("fasttext_classifier")
class FastTextClassifier(Tagger):
    """A supervised fastText model applied to the document (``level="document"``, default) or to
    each blingfire sentence (``level="sentence"``). One attribute per label, named after the label
    without ``__label__``, with its probability (labels not predicted get 0). At sentence level the
    spans are the sentences and ``doc_<label>`` is the length-weighted mean over sentences.
    Options: ``model_path`` (required), ``level``."""

    def __init__(self, model_path: str, level: str = "document") -> None:
        if level not in ("document", "sentence"):
            raise ValueError(f"level must be 'document' or 'sentence', got {level!r}")
        self.model = load_fasttext(str(model_path))
        self.labels = [lab.removeprefix("__label__") for lab in self.model.get_labels()]
        self.level = level

    def _scores(self, text: str) -> dict[str, float]:
        preds = predict_all(self.model, text, k=-1)
        return {lab: preds.get(lab, 0.0) for lab in self.labels}

    def predict(self, doc: Document) -> Spans:
        if self.level == "document":
            return {lab: [doc_span(doc, p)] for lab, p in self._scores(doc.text).items()}
        out: Spans = {lab: [] for lab in self.labels}
        weighted = dict.fromkeys(self.labels, 0.0)
        total = 0
        for s, e in sentence_spans(doc.text):
            for lab, p in self._scores(doc.text[s:e]).items():
                out[lab].append([s, e, p])
                weighted[lab] += p * (e - s)
            total += e - s
        for lab in self.labels:
            out[f"doc_{lab}"] = [doc_span(doc, weighted[lab] / total if total else 0.0)]
        return {k: v for k, v in out.items() if v}
