"""Bloom dedup in bounded chunks: a file marked a chunk at a time, and a filter tested and set a piece
at a time, give what one pass over everything gives, graded by a Python set walk over real paragraphs
(the reference never touches the filter); the hashing workers load no NumPy; a worker's bad input is
reported by file and line; a killed run's spool folder is swept by the next run."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import zstandard

from dolma_tools.dedupe import BloomDedupeConfig, BloomFilter, dedupe_files, hash_items
from dolma_tools.dedupe.bloom import CheckAndAddStream
from dolma_tools.dedupe.marking import mark_file
from dolma_tools.dedupe.spool import SPOOL_PREFIX
from dolma_tools.dedupe.unitbatch import iter_unit_chunks
from dolma_tools.dedupe.workdir import _host
from dolma_tools.interfaces import FormatError

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"


def _docs(rel: str, n: int) -> list[dict]:
    with open(SHARED / rel, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(n), text)]


def _set_walk(docs: list[dict], seen: set[str]) -> list[list[list[int]]]:
    """Per document, the ``[start, end]`` of each non-blank paragraph already seen (in order)."""
    out = []
    for d in docs:
        spans, pos = [], 0
        for piece in d["text"].split("\n"):
            if piece.strip():
                if piece in seen:
                    spans.append([pos, min(pos + len(piece) + 1, len(d["text"]))])
                seen.add(piece)
            pos += len(piece) + 1
        out.append(spans)
    return out


def test_stream_in_pieces_equals_one_pass_and_a_set_walk() -> None:
    docs = _docs("corpus/manpages/manpages-0000.jsonl.zst", 150)
    items = [p for d in docs for p in d["text"].split("\n") if p.strip()]
    first_seen: set[str] = set()
    expected = []
    for it in items:
        expected.append(it in first_seen)
        first_seen.add(it)
    assert 200 < sum(expected) < len(items) - 200  # real repeats, and real new paragraphs
    hashes = hash_items(items)
    one = BloomFilter.for_capacity(len(items), 1e-9)
    one_pass = one.check_and_add(hashes, chunk=97)
    pieces = BloomFilter.for_capacity(len(items), 1e-9)
    stream = CheckAndAddStream(pieces, chunk=97, block=13)
    rng = np.random.default_rng(19)
    got_seen, got_earlier, pos = [], [], 0
    while pos < len(hashes):  # pieces of 1 to 300 items, so steps start and end inside pieces
        n = int(rng.integers(1, 300))
        s, e = stream.check(hashes[pos:pos + n])
        got_seen.append(s)
        got_earlier.append(e)
        pos += n
    stream.close()
    seen, earlier = np.concatenate(got_seen), np.concatenate(got_earlier)
    assert (seen | earlier).tolist() == expected
    assert seen.tolist() == one_pass.tolist()
    assert np.array_equal(pieces.packed_bits(), one.packed_bits())
    assert pieces.items_added == one.items_added == len(first_seen)


@pytest.mark.parametrize("chunk_items", [1, 7, 1000, 10**9])
def test_a_file_marked_in_chunks_equals_a_set_walk(tmp_path: Path, chunk_items: int) -> None:
    docs = _docs("corpus/kernel_docs/kernel_docs-0000.jsonl.zst", 60)
    path = tmp_path / "k.jsonl"
    path.write_text("".join(json.dumps(d) + "\n" for d in docs))
    chunks = list(iter_unit_chunks(path, mode="paragraph", chunk_items=chunk_items))
    assert sum(len(c.doc_ids) for c in chunks) == 60
    assert len(chunks) == 60 if chunk_items <= 7 else len(chunks) == 1 if chunk_items > 10**6 else len(chunks) > 2
    stats: dict[str, int] = {}
    rows = list(mark_file(iter(chunks), BloomFilter.for_capacity(100_000, 1e-9), BloomDedupeConfig(), stats))
    assert [r[0] for r in rows] == [d["id"] for d in docs]
    expected = _set_walk(docs, set())
    assert [[s[:2] for s in spans] for _, spans in rows] == expected
    assert stats["documents"] == 60 and stats["duplicate_units"] == sum(map(len, expected)) > 20


def test_hashing_worker_loads_no_numpy() -> None:
    code = "import sys, dolma_tools.dedupe.hash_worker; print(sorted(m for m in ('numpy', 'multiprocessing') " \
           "if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_filter_owner_loads_no_numpy_ma_random_or_openssl(tmp_path: Path) -> None:
    # the owner's resident set is what a run's largest process is: these three would add ~13 MiB
    # (numpy.ma through np.unique, numpy.random and OpenSSL's libcrypto through hashlib)
    docs = tmp_path / "docs"
    docs.mkdir()
    for i, rel in enumerate(["corpus/manpages/manpages-0000.jsonl.zst", "corpus/kernel_docs/kernel_docs-0000.jsonl.zst"]):
        (docs / f"{i}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in _docs(rel, 30)))
    code = ("import sys; from dolma_tools.dedupe import BloomDedupeConfig, dedupe_files; "
            f"s = dedupe_files({str(docs)!r}, BloomDedupeConfig(processes=2), destination={str(tmp_path / 'a')!r}); "
            "print(s['duplicate_units'] > 0, s['filter']['measured_false_positive_rate'] < 1e-4, "
            "sorted(m for m in ('numpy.ma', 'numpy.random', 'hashlib', '_hashlib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True True []"


def test_bad_line_in_a_workers_file_is_named_and_no_spool_is_left(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    left = tmp_path / "tmp" / f"{SPOOL_PREFIX}{_host()}-{dead.pid}-abc"  # what a killed run leaves
    left.mkdir()
    (left / "0000001.chunks").write_bytes(b"x")
    docs = tmp_path / "docs"
    docs.mkdir()
    good = _docs("corpus/manpages/manpages-0000.jsonl.zst", 20)
    (docs / "a.jsonl").write_text("".join(json.dumps(d) + "\n" for d in good))
    (docs / "b.jsonl").write_text(json.dumps(good[0]) + "\n" + '{"id": "x", "text": \n')  # line 2 cut short
    with pytest.raises(FormatError, match=r"b\.jsonl.*line 2"):
        dedupe_files(docs, BloomDedupeConfig(processes=2), destination=tmp_path / "attr")
    assert not left.exists()
    assert os.listdir(tmp_path / "tmp") == []  # this run's own spool is gone too
