"""Chat and preference records from the shared instruct data, and their validators."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import zstandard

from open_instruct.interfaces import ChatExample, DataFormatError, PreferencePair

INSTRUCT = Path(__file__).resolve().parents[3].parent / "shared" / "data" / "instruct"


def _head(name: str, n: int) -> list[dict]:
    with open(INSTRUCT / name, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(n), text)]


def test_shared_records_parse() -> None:
    for i, obj in enumerate(_head("sft.jsonl.zst", 50)):
        ex = ChatExample.from_json(obj, where=f"sft.jsonl.zst:{i + 1}")
        assert ex.messages[-1].role == "assistant" and ex.messages[-1].content == obj["messages"][-1]["content"]
    for obj in _head("dpo.jsonl.zst", 50):
        pair = PreferencePair.from_json(obj)
        assert pair.chosen[0].content == obj["chosen"][0]["content"]
        assert pair.chosen != pair.rejected


def test_full_conversations_split_at_shared_prefix() -> None:
    user = {"role": "user", "content": "Q?"}
    pair = PreferencePair.from_json({"chosen": [user, {"role": "assistant", "content": "A"}],
                                     "rejected": [user, {"role": "assistant", "content": "B"}]})
    assert [m.content for m in pair.prompt] == ["Q?"] and pair.chosen[0].content == "A"


def test_bad_records_named() -> None:
    with pytest.raises(DataFormatError, match=r"f:3, field 'messages\[1\]'"):
        ChatExample.from_json({"messages": [{"role": "user", "content": "x"}, {"role": "bot"}]}, where="f:3")
    with pytest.raises(DataFormatError, match="nothing to train on"):
        ChatExample.from_json({"messages": [{"role": "user", "content": "x"}]})
