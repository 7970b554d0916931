"""Train a fastText classifier from labelled corpus documents, then tag with it."""

from __future__ import annotations

from pathlib import Path

import blingfire

from dolma_tools.docio import write_documents
from dolma_tools.interfaces import Document
from dolma_tools.taggers import get_tagger
from dolma_tools.taggers.train import train_classifier


def test_train_and_tag_document_and_sentence_level(tmp_path: Path, corpus_docs) -> None:  # noqa: ANN001
    books, code = corpus_docs("books", 140), corpus_docs("code", 140)
    train = books[:100] + code[:100]
    write_documents(tmp_path / "train.jsonl", train)
    report = train_classifier(str(tmp_path / "train.jsonl"), tmp_path / "m.bin", label_field="source",
                              epoch=5, dim=16, valid_fraction=0.2, seed=1)
    assert report["labels"] == {"books": 100, "code": 100}
    assert report["valid_precision_at_1"] >= 0.9
    tagger = get_tagger("fasttext_classifier", model_path=str(tmp_path / "m.bin"))
    held_out = books[100:] + code[100:]
    right = sum((tagger.predict(d)["books"][0][2] > 0.5) == (d.source == "books") for d in held_out)
    assert right / len(held_out) >= 0.95  # the label is the true source of unseen documents
    sent = get_tagger("fasttext_classifier", model_path=str(tmp_path / "m.bin"), level="sentence")
    text = "And God said, Let there be light. And there was light. Then he wrote import os."
    out = sent.predict(Document(id="x", text=text))
    _, offsets = blingfire.text_to_sentences_and_offsets(text)
    assert [s[:2] for s in out["books"]] == [list(o) for o in offsets] and len(offsets) == 3
    assert {"doc_books", "doc_code"} <= out.keys()


def test_train_classifier_cli(tmp_path: Path, corpus_docs) -> None:  # noqa: ANN001
    from dolma_tools.cli import main

    docs = [Document(id=d.id, text=d.text, metadata={"label": d.source}) for d in
            corpus_docs("books", 30) + corpus_docs("reference", 30)]
    write_documents(tmp_path / "l.jsonl.gz", docs)
    assert main(["train-classifier", "--documents", str(tmp_path / "l.jsonl.gz"), "--output",
                 str(tmp_path / "q.bin"), "--epoch", "2", "--dim", "8"]) == 0
    assert (tmp_path / "q.bin").is_file() and not list(tmp_path.glob("*.tmp-*"))
