"""Real inputs for the fuzz tests, taken from ../shared/data: a few documents of the shared corpus
(two sources, re-packed as one small .jsonl.gz shard), chat and preference examples."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
import zstandard

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
#: how many inputs each CLI gets; the seed is fixed so a failure replays (both printed by each test)
SEED = 2222


def first_lines(path: Path, n: int, *, max_text: int | None = None) -> list[dict]:
    out = []
    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as raw:
        for line in io.TextIOWrapper(raw, encoding="utf-8"):
            obj = json.loads(line)
            if max_text is not None and len(obj.get("text", "")) > max_text:
                continue
            out.append(obj)
            if len(out) == n:
                break
    return out


@pytest.fixture(scope="session")
def real_documents() -> bytes:
    """16 documents, 8 English prose (books), 8 code: the JSON lines exactly as the corpus has them."""
    docs = first_lines(SHARED / "corpus" / "books" / "books-0000.jsonl.zst", 8, max_text=6000)
    docs += first_lines(SHARED / "corpus" / "code" / "code-0000.jsonl.zst", 8, max_text=6000)
    return "".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs).encode()
