"""JSON lines and Parquet through `datasets`; bad records named by file and line."""

from __future__ import annotations

import json

import datasets
import pytest
from instruct_data import INSTRUCT, head

from open_instruct.data.sources import read_records
from open_instruct.interfaces import DataFormatError


def test_jsonl_zst_and_parquet_agree(tmp_path) -> None:
    rows = head("dpo.jsonl.zst", 40)
    pq = tmp_path / "dpo.parquet"
    datasets.Dataset.from_list(rows).to_parquet(str(pq))
    from_pq = read_records(pq, "dpo", cache_dir=tmp_path / "c")
    assert [(p.id, p.chosen[0].content, p.rejected[0].content) for p in from_pq] == \
        [(r["id"], r["chosen"][0]["content"], r["rejected"][0]["content"]) for r in rows]


def test_whole_shared_file_reads(tmp_path) -> None:
    recs = read_records(INSTRUCT / "sft.jsonl.zst", "sft", cache_dir=tmp_path)
    assert len(recs) == 34181 and recs[0].messages[0].role == "user"


def test_bad_record_names_file_and_line(tmp_path) -> None:
    rows = head("sft.jsonl.zst", 5)
    rows[3] = {"id": "bad", "source": "x", "messages": [{"role": "user", "content": "only a question"}]}
    path = tmp_path / "bad.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataFormatError, match=r"bad.jsonl:line 4, field 'messages'.*nothing to train on"):
        read_records(path, "sft", cache_dir=tmp_path / "c")
    with pytest.raises(DataFormatError, match="unknown file type"):
        (tmp_path / "x.csv").write_text("a,b\n")
        read_records(tmp_path / "x.csv", "sft")


def test_preference_file_as_sft_gives_prompt_plus_chosen(tmp_path) -> None:
    rows = head("dpo.jsonl.zst", 5)
    path = tmp_path / "p.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    recs = read_records(path, "sft", cache_dir=tmp_path / "c")
    assert [[m.content for m in r.messages] for r in recs] == \
        [[m["content"] for m in r["prompt"] + r["chosen"]] for r in rows]
