"""Length, repetition and code heuristics on hand-computed documents."""

from __future__ import annotations

import pytest

from dolma_tools.interfaces import Document
from dolma_tools.taggers import get_tagger, list_taggers


def _doc(text: str) -> Document:
    return Document(id="d", text=text)


def test_every_tagger_documents_itself() -> None:
    docs = list_taggers()
    for name in ("gopher_v1", "c4_v1", "pii_regex_v1", "ft_lang_id_en_doc_v2", "fasttext_classifier",
                 "repetition_v1", "length_v1", "char_length_v1", "code_heuristics_v1"):
        assert len(docs[name]) > 40, name


def test_lengths() -> None:
    text = "Hello, world! Ça va?\n\nSecond paragraph."
    out = get_tagger("length_v1").predict(_doc(text))
    assert out["characters"][0][2] == 39
    assert out["bytes"][0][2] == 40  # "Ç" is two bytes in UTF-8
    assert out["whitespace_words"][0][2] == 6
    # blingfire splits punctuation: Hello , world ! Ça va ? Second paragraph .
    assert out["words"][0][2] == 10
    assert out["lines"][0][2] == 3 and out["paragraphs"][0][2] == 2
    assert get_tagger("char_length_v1").predict(_doc(text)) == {"length": [[0, 39, 39]]}


def test_repetition() -> None:
    text = "alpha beta\n\ngamma\n\nalpha beta\n\nalpha beta"
    out = get_tagger("repetition_v1", ngrams=[2]).predict(_doc(text))
    # paragraphs at 0, 12, 19, 31; the third and fourth repeat the first
    assert out["repeated_paragraphs"] == [[19, 29, 1.0], [31, 41, 1.0]]
    assert out["fraction_of_repeated_paragraphs"][0][2] == pytest.approx(2 / 4)
    # words: alpha beta gamma alpha beta alpha beta; bigram (alpha beta) x3 covers 6 of 7 words
    assert out["fraction_of_words_in_repeated_2grams"][0][2] == pytest.approx(6 / 7)


def test_code_heuristics() -> None:
    text = "# comment\nx = 1\n\n// other\ny"
    out = get_tagger("code_heuristics_v1").predict(_doc(text))
    alnum = sum(c.isalnum() for c in text)
    assert alnum == 7 + 2 + 5 + 1
    assert out["alphanumeric_fraction"][0][2] == pytest.approx(15 / len(text))
    assert out["max_line_length"][0][2] == 9
    assert out["mean_line_length"][0][2] == pytest.approx((9 + 5 + 0 + 8 + 1) / 5)
    assert out["comment_fraction"][0][2] == pytest.approx(2 / 4)


def test_lone_surrogates_from_json_are_handled(tmp_path) -> None:  # noqa: ANN001
    # JSON may escape a lone surrogate ("\ud800"); every tagger copes and files round-trip
    from dolma_tools.docio import iter_documents, write_documents

    doc = Document(id="s", text="a\ud800b call 555 123 4567. And 1.2.3.4 ok #tag")
    for name in list_taggers():
        if name != "fasttext_classifier":
            get_tagger(name).predict(doc)
    assert get_tagger("length_v1").predict(doc)["characters"][0][2] == len(doc.text)
    write_documents(tmp_path / "s.jsonl.gz", [doc])
    assert [d.text for _, d in iter_documents(tmp_path / "s.jsonl.gz")] == [doc.text]
