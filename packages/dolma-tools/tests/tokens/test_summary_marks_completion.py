"""``summary.json`` marks a finished token folder: it is removed when a run (re)packs and written last,
so a run that dies while old and new shards lie side by side leaves no summary to trust."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import zstandard

import dolma_tools.tokens.run as tokens_run
from dolma_tools.tokens import tokenize_files

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"


def test_a_failed_repack_leaves_no_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open(SHARED / "corpus/books/books-0000.jsonl.zst", "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        lines = [line for line, _ in zip(text, range(12), strict=False)]
    src = tmp_path / "docs"
    src.mkdir()
    (src / "a.jsonl").write_text("".join(lines[:6]))
    (src / "b.jsonl").write_text("".join(lines[6:]))
    out = tmp_path / "out"
    first = tokenize_files(src, out, tokenizer=TOKENIZER, max_tokens_per_file=2000)
    assert json.loads((out / "summary.json").read_text())["run_key"] == first["run_key"]
    assert len(first["shards"]) > 1

    def dies_midway(*args: object, **kwargs: object) -> None:
        raise RuntimeError("killed while packing")

    monkeypatch.setattr(tokens_run, "pack_units", dies_midway)
    with pytest.raises(RuntimeError):
        tokenize_files(src, out, tokenizer=TOKENIZER, max_tokens_per_file=2000, shuffle_seed=7)
    assert not (out / "summary.json").exists()
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]
    # the same arguments as the finished run: its shards are still there, but without its summary the run
    # is done again, not returned as finished
    monkeypatch.undo()
    again = tokenize_files(src, out, tokenizer=TOKENIZER, max_tokens_per_file=2000)
    assert "reused" not in again and again["tokens"] == first["tokens"] and again["shards"] == first["shards"]
