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


def test_tag_and_mix_parquet_documents(tmp_path: Path) -> None:
    from dolma_tools.docio import iter_attributes
    from dolma_tools.mixer.config import MixConfig
    from dolma_tools.mixer.run import mix
    from dolma_tools.taggers.run import tag

    docs = [Document(id=f"p{i}", text="word " * i, source="pq") for i in range(1, 41)]
    write_documents(tmp_path / "documents" / "d.parquet", docs)
    assert tag(str(tmp_path / "documents"), ["char_length_v1"], experiment="len", processes=1, progress=False).ok
    attrs = [r for _, r in iter_attributes(tmp_path / "attributes" / "len" / "d.jsonl.zst")]
    assert [r.attributes["len__char_length_v1__length"][0][2] for r in attrs] == [5 * i for i in range(1, 41)]
    cfg = MixConfig(documents=[str(tmp_path / "documents")], attributes=["len"], destination=str(tmp_path / "out"),
                    exclude={"short": "char_length_v1__length < 100"})
    assert mix(cfg, processes=1, progress=False).ok
    kept = [d.id for _, d in iter_documents(tmp_path / "out" / "d-0000.jsonl.zst")]
    assert kept == [f"p{i}" for i in range(20, 41)]  # 5 * i >= 100
