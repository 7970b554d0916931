"""Validators of the formats dolma-tools owns name the file, line and field at fault."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from dolma_tools.docio import iter_documents, write_documents
from dolma_tools.interfaces import (
    AttributeRecord,
    Document,
    FormatError,
    attributes_path,
    read_tokens_sidecar,
)


def test_document_requires_id_and_text() -> None:
    with pytest.raises(FormatError, match=r"x.jsonl, line 3, field 'text'"):
        Document.from_json({"id": "a"}, path="x.jsonl", line=3)
    assert Document.from_json({"id": 7, "text": "t"}).id == "7"


def test_attribute_spans_validated() -> None:
    ok = AttributeRecord.from_json({"id": "a", "attributes": {"t": [[0, 3, 0.5]]}})
    assert ok.attributes["t"] == [[0, 3, 0.5]]
    with pytest.raises(FormatError, match="field 'attributes.t'"):
        AttributeRecord.from_json({"id": "a", "attributes": {"t": [[5, 3, 0.5]]}}, path="a.jsonl", line=1)


def test_attributes_path_mirrors_documents() -> None:
    assert attributes_path("/d/documents/web/a.jsonl.gz", "lang") == Path("/d/attributes/lang/web/a.jsonl.gz")


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
def test_round_trip_by_extension(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"docs{suffix}"
    docs = [Document(id=str(i), text=f"héllo {i}", source="s") for i in range(5)]
    assert write_documents(path, docs) == 5
    assert [d for _, d in iter_documents(path)] == docs
    assert not list(tmp_path.glob("*.tmp-*"))


def test_malformed_line_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"id": "1", "text": "a"}\n{"id": 2, "text": \n')
    with pytest.raises(FormatError, match=r"bad.jsonl, line 2: malformed JSON"):
        list(iter_documents(path))


def test_truncated_gzip_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl.gz"
    payload = gzip.compress(b"".join(json.dumps({"id": str(i), "text": "x" * 100}).encode() + b"\n"
                                     for i in range(200)))
    path.write_bytes(payload[: len(payload) // 2])
    with pytest.raises(FormatError, match="corrupt or truncated"):
        list(iter_documents(path))


def test_sidecar_with_gap_refused(tmp_path: Path) -> None:
    header = {"format": "olmo-stack/tokens", "version": 1, "dtype": "uint16", "eos_id": 0, "pad_id": 1,
              "vocab_size": 10, "tokenizer": {"name": "t", "sha256": "0"}, "num_documents": 2,
              "num_tokens": 5, "array": "part-00000.npy", "columns": ["start", "end", "id", "source", "source_file"]}
    path = tmp_path / "part-00000.docs.jsonl"
    path.write_text(json.dumps(header) + "\n" + json.dumps([0, 2, "a", "s", "f"]) + "\n"
                    + json.dumps([3, 5, "b", "s", "f"]) + "\n")
    with pytest.raises(FormatError, match="line 3"):
        read_tokens_sidecar(path)
