"""The suffix-array index against brute force on real tokens: counts and locations of random n-grams
(lengths 1 to 20, present and absent) equal a NumPy sliding-window search of the same stream read
back from the shards; the suffix array is a permutation in suffix order; maximal spans equal the
longest matches found by brute force. Built with a 1 MiB budget, so the build takes many batches and
splits frequent tokens by their next token (the out-of-core path)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import zstandard

from dolma_tools.cli import main
from dolma_tools.index import IndexConfig, TokenIndex, build_index
from dolma_tools.interfaces import read_tokens_sidecar, sidecar_path
from dolma_tools.tokens import tokenize_files

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"


def _docs(path: Path, n: int) -> list[dict]:
    with open(path, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(n), text)]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, list[list], dict]:
    """Bible chapters and Python modules, one chapter copied whole under another id (a long exact
    repeat), tokenized into several shards and indexed with a 1 MiB budget. Returns (index folder,
    the stream as read from the shards, the sidecar rows with global starts, the build summary)."""
    root = tmp_path_factory.mktemp("index")
    books = _docs(SHARED / "corpus/books/books-0000.jsonl.zst", 60)
    code = _docs(SHARED / "corpus/code/code-0000.jsonl.zst", 40)
    books.append({**books[7], "id": "planted-copy"})
    (root / "docs").mkdir()
    for name, docs in (("books", books), ("code", code)):
        (root / "docs" / f"{name}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    tokenize_files([root / "docs"], root / "tokens", max_tokens_per_file=40_000, progress=False)
    summary = build_index([root / "tokens"], root / "index", IndexConfig(memory_mb=1))
    stream, rows, off = [], [], 0
    for array in sorted((root / "tokens").rglob("*.npy")):
        header, shard_rows = read_tokens_sidecar(sidecar_path(array))
        ids = np.fromfile(array, dtype=np.dtype(header.dtype).newbyteorder("<")).astype(np.int64)
        stream.append(ids)
        rows += [[off + r[0], off + r[1], r[2], r[3], array.name, r[0]] for r in shard_rows]
        off += len(ids)
    return root / "index", np.concatenate(stream), rows, summary


def _brute_positions(stream: np.ndarray, query: np.ndarray) -> np.ndarray:
    if len(query) > len(stream):
        return np.zeros(0, dtype=np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(stream, len(query))
    return np.flatnonzero((windows == query).all(axis=1))


def test_build_is_out_of_core_and_the_suffix_array_is_sorted(built) -> None:  # type: ignore[no-untyped-def]
    path, stream, _rows, summary = built
    assert summary["num_tokens"] == len(stream) > 100_000
    assert summary["batches"] > 10 and summary["two_token_keys"] > 0  # the budget forced both splits
    assert not summary["over_budget"]
    sa = np.fromfile(path / "sa.bin", dtype="<u4").astype(np.int64)
    assert np.array_equal(np.sort(sa), np.arange(len(stream)))
    be = stream.astype(">u2").tobytes()
    rng = np.random.default_rng(0)
    for i in rng.integers(0, len(sa) - 1, 3000).tolist() + [0, len(sa) - 2]:
        a, b = int(sa[i]), int(sa[i + 1])
        assert be[2 * a:] < be[2 * b:], f"rows {i}, {i + 1} out of order"


def test_counts_and_locations_equal_brute_force(built) -> None:  # type: ignore[no-untyped-def]
    path, stream, rows, _summary = built
    rng = np.random.default_rng(1)
    queries = []
    for _ in range(200):  # present: sampled from the stream
        n = int(rng.integers(1, 21))
        p = int(rng.integers(0, len(stream) - n))
        queries.append(stream[p:p + n])
    for _ in range(40):  # mostly absent: random ids, and sampled n-grams with one id changed
        n = int(rng.integers(1, 21))
        queries.append(rng.integers(0, 50_000, n))
        q = stream[(p := int(rng.integers(0, len(stream) - n))):p + n].copy()
        q[int(rng.integers(0, n))] = int(rng.integers(0, 50_280))
        queries.append(q)
    queries.append(stream[-5:])  # the very end of the stream
    starts = np.array([r[0] for r in rows])
    absent = 0
    with TokenIndex(path) as index:
        for q in queries:
            want = _brute_positions(stream, q)
            assert index.count(q) == len(want), q
            absent += len(want) == 0
            got = index.locate(q)
            assert [o.position for o in got] == want.tolist()
            for o in got[:3]:
                d = int(np.searchsorted(starts, o.position, side="right")) - 1
                assert (o.doc_id, o.source, o.shard, o.shard_offset) == (
                    rows[d][2], rows[d][3], rows[d][4], rows[d][5] + o.position - rows[d][0])
    assert absent >= 30


def test_maximal_spans_equal_brute_force_longest_matches(built) -> None:  # type: ignore[no-untyped-def]
    path, stream, _rows, _summary = built
    rng = np.random.default_rng(2)
    a, b = int(rng.integers(0, len(stream) - 40)), int(rng.integers(0, len(stream) - 40))
    # 25 tokens of one place, 3 random ids, 30 tokens of another: spans meet at the junk
    query = np.concatenate([stream[a:a + 25], rng.integers(0, 50_000, 3), stream[b:b + 30]])
    longest = []
    for i in range(len(query)):  # narrow the positions matching query[i:] one token at a time
        cand, m = np.flatnonzero(stream == query[i]), 0
        while len(cand):
            m += 1
            if i + m == len(query):
                break
            cand = cand[cand + m < len(stream)]
            cand = cand[stream[cand + m] == query[i + m]]
        longest.append(m)
    want = []
    reach = 0
    for i, m in enumerate(longest):
        if m >= 6 and i + m > reach:
            want.append((i, i + m, len(_brute_positions(stream, query[i:i + m]))))
            reach = i + m
    with TokenIndex(path) as index:
        got = [(s.start, s.end, s.count) for s in index.maximal_spans(query, 6)]
    assert got == want
    assert got[0][0] == 0 and got[0][1] >= 25 and got[-1][1] == len(query)


def test_cli_counts_text_and_names_a_missing_index(built, capsys) -> None:  # type: ignore[no-untyped-def]
    path, stream, _rows, _summary = built
    ids = stream[1000:1006].tolist()
    assert main(["index", "count", "--index", str(path), "--ids", ",".join(map(str, ids))]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == len(_brute_positions(stream, np.array(ids)))
    assert main(["index", "count", "--index", str(path / "nope"), "--ids", "1"]) == 2
    assert "not a finished token index" in capsys.readouterr().err


def test_uint32_shards_with_long_repeats(tmp_path: Path) -> None:
    """A vocabulary over 65,536 ids (uint32 shards, one id per sort key) with documents repeated whole:
    counts of ids above 65,535 and of n-grams inside the repeats equal brute force."""
    from dolma_tools.tokens.tokenizer import TokenizerSpec
    from dolma_tools.tokens.writer import TokenShardWriter

    spec = TokenizerSpec(tokenizer=None, name="synthetic", sha256="0" * 64, eos_id=99_999, pad_id=1,
                         vocab_size=100_000)
    rng = np.random.default_rng(3)
    docs = [(rng.zipf(1.3, int(rng.integers(50, 400))) % 99_000 + 65_000 * (k % 2)).astype(np.int64) % 99_999
            for k in range(60)]
    docs += [docs[4], docs[4], docs[9]]  # whole documents repeated: long ties the doubling must break
    writer = TokenShardWriter(tmp_path / "tokens", spec, max_tokens=5_000)
    for k, d in enumerate(docs):
        writer.add(d, f"doc-{k}", "synthetic", "synthetic.jsonl")
    writer.flush()
    summary = build_index([tmp_path / "tokens"], tmp_path / "index", IndexConfig(memory_mb=0.05))
    stream = np.concatenate([np.append(d, 99_999) for d in docs])
    assert summary["dtype"] == "uint32" and summary["num_tokens"] == len(stream) and summary["batches"] > 1
    with TokenIndex(tmp_path / "index") as index:
        for n in (1, 2, 5, 40, 300):
            for p in rng.integers(0, len(stream) - n, 15).tolist() + [int(np.flatnonzero(stream > 65_535)[0])]:
                q = stream[p:p + n]
                assert index.locate(q, None) and [o.position for o in index.locate(q)] == \
                    _brute_positions(stream, q).tolist()
        for q in (docs[4], docs[9], np.array([99_998] * 3)):
            assert index.count(q) == len(_brute_positions(stream, q)) >= (2 if len(q) > 3 else 0)


@pytest.mark.parametrize("site", ["index.copy", "index.sorted"])
def test_a_killed_build_leaves_nothing_after_the_next_one(built, tmp_path: Path, site: str) -> None:  # type: ignore[no-untyped-def]
    """SIGKILL inside the stream copy (tokens.be half written) or after the sort (sa.bin and rank.bin
    still temporaries), then a plain rebuild: no temporary is left and the index equals an uninterrupted
    build's file for file."""
    import os
    import signal
    import subprocess
    import sys

    index, *_ = built
    tokens = index.parent / "tokens"
    dest = tmp_path / "index"
    argv = [sys.executable, "-m", "dolma_tools.cli", "index", "build", "--tokens", str(tokens), "--destination",
            str(dest), "--memory-mb", "1", "--no-progress"]
    killed = subprocess.run(argv, env={**os.environ, "OLMO_STACK_FAULT": f"{site}:1"}, start_new_session=True,
                            capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert list(dest.glob("*.tmp-*")) and not (dest / "index.json").exists()  # what the kill left
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in dest.iterdir() if ".tmp-" in p.name) == []
    for name in ("tokens.be", "sa.bin", "first.npy", "documents.npy", "documents.jsonl"):
        assert (dest / name).read_bytes() == (index / name).read_bytes(), name
