"""Exact dedup on real documents, graded by a plain Python set walk over the same documents in the
same order (the reference never touches the Bloom filter)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import zstandard

from dolma_tools.dedupe import (
    BloomDedupeConfig,
    BloomFilter,
    build_paragraph_filter,
    dedupe_files,
    mark_paragraphs,
)

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"


def _docs(rel: str, n: int, skip: int = 0) -> list[dict]:
    with open(SHARED / rel, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(skip + n), text)][skip:]


def _reference_paragraph_spans(docs: list[dict], seen: set[str], *, add: bool = True) -> list[list[list[int]]]:
    out = []
    for d in docs:
        spans, pos = [], 0
        for piece in d["text"].split("\n"):
            end = min(pos + len(piece) + 1, len(d["text"]))
            if piece.strip():
                if piece in seen:
                    spans.append([pos, end])
                elif add:
                    seen.add(piece)
            pos += len(piece) + 1
        out.append(spans)
    return out


def _write(folder: Path, name: str, docs: list[dict]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    data = "".join(json.dumps(d) + "\n" for d in docs).encode()
    (folder / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)


def _read_spans(path: Path) -> list[list[list[int]]]:
    data = path.read_bytes()
    rows = [json.loads(line) for line in (gzip.decompress(data) if path.suffix == ".gz" else data).splitlines()]
    return [[s[:2] for s in next(iter(r["attributes"].values()))] for r in rows]


def test_paragraph_duplicates_match_a_set_walk_and_not_the_process_count(tmp_path: Path) -> None:
    a = _docs("corpus/manpages/manpages-0000.jsonl.zst", 120)
    b = _docs("corpus/kernel_docs/kernel_docs-0000.jsonl.zst", 80)
    c = _docs("corpus/manpages/manpages-0001.jsonl.zst", 120)
    _write(tmp_path / "docs", "a.jsonl", a)
    _write(tmp_path / "docs", "b.jsonl", b)
    _write(tmp_path / "docs", "c.jsonl.gz", c)
    cfg = BloomDedupeConfig(false_positive_rate=1e-9)
    summary = dedupe_files(tmp_path / "docs", cfg, destination=tmp_path / "attr1")
    seen: set[str] = set()
    expected = [_reference_paragraph_spans(docs, seen) for docs in (a, b, c)]
    got = [_read_spans(tmp_path / "attr1" / n) for n in ("a.jsonl", "b.jsonl", "c.jsonl.gz")]
    assert got == expected
    assert summary["duplicate_units"] == sum(len(s) for f in expected for s in f) > 100
    assert summary["filter"]["measured_false_positive_rate"] < 1e-4

    cfg2 = BloomDedupeConfig(false_positive_rate=1e-9, processes=2)
    dedupe_files(tmp_path / "docs", cfg2, destination=tmp_path / "attr2")
    for n in ("a.jsonl", "b.jsonl", "c.jsonl.gz"):
        assert (tmp_path / "attr1" / n).read_bytes() == (tmp_path / "attr2" / n).read_bytes()


def test_read_only_filter_marks_exactly_the_shared_paragraphs(tmp_path: Path) -> None:
    evals = _docs("corpus/manpages/manpages-0000.jsonl.zst", 150)
    train = _docs("corpus/manpages/manpages-0000.jsonl.zst", 150, skip=150)
    built = build_paragraph_filter([d["text"] for d in evals], false_positive_rate=1e-9)
    path = built.save(tmp_path / "eval.bloom")
    ro = BloomFilter.load(path, read_only=True)
    before = path.read_bytes()

    reference = set(p for d in evals for p in d["text"].split("\n") if p.strip())
    expected = _reference_paragraph_spans(train, reference, add=False)
    marked = mark_paragraphs([d["text"] for d in train], ro)
    assert [[s[:2] for s in doc] for doc in marked] == expected
    assert sum(map(len, expected)) > 50  # translations and boilerplate really are shared

    # the same through the command path: attributes written, filter file untouched
    _write(tmp_path / "train", "t.jsonl", train)
    summary = dedupe_files(tmp_path / "train", BloomDedupeConfig(filter_path=str(path), read_only=True),
                           destination=tmp_path / "attr")
    assert _read_spans(tmp_path / "attr" / "t.jsonl") == expected
    assert summary["filter"]["read_only"] and path.read_bytes() == before


def test_ngram_overlap_and_document_modes(tmp_path: Path) -> None:
    docs = [{"id": "1", "text": "the quick brown fox jumps over the lazy dog\nunrelated words here", "source": "s"},
            {"id": "2", "text": "a quick brown fox jumps over the lazy cat\nsomething else entirely", "source": "s"},
            {"id": "3", "text": "the quick brown fox jumps over the lazy dog\nunrelated words here", "source": "s"},
            {"id": "1", "text": "other text", "source": "s"}]
    _write(tmp_path / "d", "x.jsonl", docs)
    # 3-grams of doc 2's first paragraph: 7, of which 5 ("quick brown fox" ... "over the lazy") appear in doc 1
    cfg = BloomDedupeConfig(ngram_length=3, threshold=0.7, false_positive_rate=1e-9)
    dedupe_files(tmp_path / "d", cfg, destination=tmp_path / "ng")
    rows = [json.loads(line)["attributes"]["dedupe__ngram__duplicate_paragraphs"]
            for line in (tmp_path / "ng" / "x.jsonl").read_text().splitlines()]
    assert rows[0] == [] and rows[1] == [[0, 42, round(5 / 7, 6)]]
    assert rows[2] == [[0, 44, 1.0], [44, 64, 1.0]]

    dedupe_files(tmp_path / "d", BloomDedupeConfig(mode="document"), destination=tmp_path / "doc")
    rows = [json.loads(line)["attributes"]["dedupe__bloom__duplicate_document"]
            for line in (tmp_path / "doc" / "x.jsonl").read_text().splitlines()]
    assert rows == [[], [], [[0, 64, 1.0]], []]

    dedupe_files(tmp_path / "d", BloomDedupeConfig(mode="id"), destination=tmp_path / "id")
    rows = [json.loads(line)["attributes"]["dedupe__bloom__duplicate_id"]
            for line in (tmp_path / "id" / "x.jsonl").read_text().splitlines()]
    assert rows == [[], [], [], [[0, 10, 1.0]]]
