"""fastText lid.176 on the real corpus, checked against the writing system of each document."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import fasttext
import pytest

from dolma_tools.interfaces import Document
from dolma_tools.taggers import get_tagger
from dolma_tools.taggers.fasttext_model import default_lid_model_path

CORPUS = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "corpus"


def _script_share(text: str, prefix: str) -> float:
    letters = [c for c in text if c.isalpha()]
    return sum(unicodedata.name(c, "").startswith(prefix) for c in letters) / max(len(letters), 1)


def test_shipped_model_is_the_shared_one() -> None:
    assert default_lid_model_path().read_bytes() == (CORPUS.parent / "models" / "lid.176.ftz").read_bytes()


def test_english_bible_and_cyrillic_manpages(corpus_docs) -> None:  # noqa: ANN001
    tagger = get_tagger("ft_lang_id_en_doc_v2")
    for d in corpus_docs("books", 20):  # King James Bible chapters
        out = tagger.predict(d)
        assert out["en"][0][2] >= 0.5
        assert out["not_en"][0][2] == pytest.approx(1 - out["en"][0][2])
    cyrillic = [d for d in corpus_docs("manpages", 400) if _script_share(d.text, "CYRILLIC") > 0.5][:10]
    assert len(cyrillic) >= 3
    top = get_tagger("ft_lang_id_doc_v1")
    for d in cyrillic:
        assert tagger.predict(d)["en"][0][2] < 0.5
        scores = {k: v[0][2] for k, v in top.predict(d).items() if k != "top_score"}
        assert max(scores, key=scores.get) in ("ru", "uk", "bg")


def test_document_score_matches_fasttext_directly(corpus_docs) -> None:  # noqa: ANN001
    model = fasttext.load_model(str(CORPUS.parent / "models" / "lid.176.ftz"))
    tagger = get_tagger("ft_lang_id_en_doc_v2")
    for d in corpus_docs("kernel_docs", 5):
        labels, probs = model.predict(d.text.lower().replace("\n", " ").strip(), k=-1)
        expected = dict(zip(labels, probs, strict=True)).get("__label__en", 0.0)
        assert tagger.predict(d)["en"][0][2] == pytest.approx(expected)


def test_paragraph_level_with_document_score() -> None:
    text = "The quick brown fox jumps over the lazy dog.\n\nDer schnelle braune Fuchs springt über den faulen Hund.\n"
    model = fasttext.load_model(str(CORPUS.parent / "models" / "lid.176.ftz"))
    out = get_tagger("ft_lang_id_en_paragraph_with_doc_score_v2").predict(Document(id="d", text=text))
    first, second = (0, 45), (46, len(text))  # the blank line is not a paragraph
    assert [s[:2] for s in out["en"]] == [list(first), list(second)]
    en = []
    for s, e in (first, second):
        labels, probs = model.predict(text[s:e].lower().replace("\n", " ").strip(), k=-1)
        en.append(dict(zip(labels, probs, strict=True)).get("__label__en", 0.0))
    assert en[0] > 0.5 > en[1]
    expected_doc = (45 * en[0] + (len(text) - 46) * en[1]) / len(text)
    assert out["doc_en"][0][2] == pytest.approx(expected_doc, rel=1e-5)
