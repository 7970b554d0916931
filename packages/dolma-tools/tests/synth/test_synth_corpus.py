"""synth-corpus: the same seed writes the same bytes, the output is Dolma documents of the asked size,
and every planted pair's Jaccard in the key file is the one a plain set computation finds on the
written texts (near copies inside their target band, exact copies identical)."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
import zstandard

from dolma_tools.cli import main
from dolma_tools.interfaces import Document
from dolma_tools.synth import SynthConfig, synth_corpus
from dolma_tools.synth.pool import units

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
SLICE = SHARED / "corpus" / "kernel_docs" / "kernel_docs-0000.jsonl.zst"  # 867 documents


def _jaccard5(x: str, y: str) -> float:
    # independent of dolma_tools: word 5-grams as tuples (a text of <= 5 words is one shingle)
    def grams(t: str) -> set[tuple[str, ...]]:
        w = t.split()
        return {tuple(w)} if 0 < len(w) <= 5 else {tuple(w[i:i + 5]) for i in range(len(w) - 4)}
    a, b = grams(x), grams(y)
    return len(a & b) / len(a | b) if a | b else 1.0


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _docs(root: Path) -> list[dict]:
    out = []
    for shard in sorted((root / "documents").glob("part-*.jsonl.gz")):
        with gzip.open(shard, "rt", encoding="utf-8") as f:
            out += [json.loads(line) for line in f]
    return out


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    root = tmp_path_factory.mktemp("synth") / "a"
    cfg = SynthConfig(scale=0.35, seed=3, near_dup_rate=0.3, exact_dup_rate=0.05, docs_per_shard=100)
    return root, synth_corpus(SLICE, root, cfg)


def test_same_seed_same_bytes_through_the_cli(synth: tuple[Path, dict], tmp_path: Path) -> None:
    root, _ = synth
    args = ["synth-corpus", "--scale", "0.35", "--documents", str(SLICE), "--seed", "3", "--near-dup-rate", "0.3",
            "--exact-dup-rate", "0.05", "--docs-per-shard", "100", "--no-progress"]
    assert main([*args, "--destination", str(tmp_path / "b")]) == 0
    assert _tree(tmp_path / "b") == _tree(root)  # documents, key file and summary, byte for byte


def test_documents_and_key_file_hold_the_true_jaccard(synth: tuple[Path, dict]) -> None:
    root, summary = synth
    docs = _docs(root)
    for d in docs:
        Document.from_json(d)  # the corpus's document format
    assert len(docs) == summary["documents"] and abs(len(docs) - 0.35 * 867) <= 3
    assert len(list((root / "documents").glob("*.gz"))) == summary["shards"] >= 3
    text = {d["id"]: d["text"] for d in docs}
    assert len(text) == len(docs)  # ids are unique
    with gzip.open(root / "truth.jsonl.gz", "rt") as f:
        truth = [json.loads(line) for line in f]
    assert len(truth) == summary["truth_pairs"] > 60
    shard_of = {d["id"]: k // 100 for k, d in enumerate(docs)}
    assert any(shard_of[t["a"]] != shard_of[t["b"]] for t in truth)  # copies land in later shards too
    bands_hit = set()
    for t in truth:
        j = _jaccard5(text[t["a"]], text[t["b"]])
        assert abs(j - t["jaccard"]) < 1e-6, t
        if t["kind"] == "exact":
            assert text[t["a"]] == text[t["b"]]
        if t["target"] is not None:
            lo, hi = t["target"]
            assert lo <= j < hi and j < 1.0, t
            bands_hit.add(lo)
    assert bands_hit == {0.5, 0.6, 0.7, 0.8, 0.9}
    planted = summary["near_copies"] + summary["exact_copies"]
    assert 0.25 <= planted / len(docs) <= 0.45  # the asked 0.35, give or take the draw


def test_bad_scale_is_a_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["synth-corpus", "--scale", "0", "--documents", str(SLICE), "--destination", str(tmp_path)]) == 2
    assert "scale must be > 0" in capsys.readouterr().err


def test_long_paragraphs_are_cut_at_line_and_sentence_ends() -> None:
    with open(SHARED / "corpus" / "books" / "books-0000.jsonl.zst", "rb") as f:
        chapter = json.loads(io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f)).readline())["text"]
    body = max(chapter.split("\n\n"), key=len)  # a chapter is its title and one long paragraph
    pieces = units(body, 300)
    assert len(pieces) >= 3 and all(len(p) <= 300 or "." not in p[:-1] for p in pieces)
    assert " ".join(pieces).split() == body.split()  # nothing lost, nothing added
    assert units("short", 300) == ["short"]
