"""Parquet documents, globs with their base folder, attribute paths."""

from __future__ import annotations

from pathlib import Path

from dolma_tools.docio import (
    attributes_file,
    expand_inputs,
    expand_inputs_with_base,
    iter_documents,
    write_documents,
)
from dolma_tools.interfaces import Document


def test_parquet_round_trip(tmp_path: Path) -> None:
    docs = [Document(id=str(i), text=f"ünï {i}" * (i % 7 + 1), source="s", metadata={"k": [i]}) for i in range(5000)]
    path = tmp_path / "documents" / "a.parquet"
    assert write_documents(path, docs) == 5000
    back = [d for _, d in iter_documents(path)]
    assert [d.id for d in back] == [d.id for d in docs] and back[4999].text == docs[4999].text
    assert back[3].metadata == {"k": [3]}
    assert expand_inputs(tmp_path) == [path]
    assert attributes_file(path, "lang") == tmp_path / "attributes" / "lang" / "a.jsonl.zst"


def test_bases_of_globs_and_folders(tmp_path: Path) -> None:
    for rel in ("x/a.jsonl", "x/y/b.jsonl.gz"):
        write_documents(tmp_path / rel, [Document(id="1", text="t")])
    got = expand_inputs_with_base([str(tmp_path / "x" / "**" / "*.jsonl*")])
    assert [(p.relative_to(tmp_path), b) for p, b in got] == [(Path("x/a.jsonl"), tmp_path / "x"),
                                                             (Path("x/y/b.jsonl.gz"), tmp_path / "x")]
    got = expand_inputs_with_base(tmp_path / "x")
    assert attributes_file(got[1][0], "s", base=got[1][1], attributes_root=tmp_path / "attrs") == \
        tmp_path / "attrs" / "s" / "y" / "b.jsonl.gz"
