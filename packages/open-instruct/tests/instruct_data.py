"""Slices of the shared instruct data for tests."""

from __future__ import annotations

import io
import json
from pathlib import Path

import zstandard

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
INSTRUCT = SHARED / "instruct"


def head(name: str, n: int, skip: int = 0) -> list[dict]:
    with open(INSTRUCT / name, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        out = []
        for i, line in enumerate(text):
            if i >= skip + n:
                break
            if i >= skip:
                out.append(json.loads(line))
        return out


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path
