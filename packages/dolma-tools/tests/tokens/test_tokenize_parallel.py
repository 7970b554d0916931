"""Tokenization with several processes: identical bytes for 1 and 2 processes, seeded shuffling,
shard size limits, per-source counts and errors, graded against the HF tokenizers library called
directly on the same texts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import zstandard
from tokenizers import Tokenizer

from dolma_tools.interfaces import FormatError, read_tokens_sidecar
from dolma_tools.tokens import tokenize_files

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"


def short_docs(rel: str, n: int, max_chars: int = 1500) -> list[dict]:
    out = []
    with open(SHARED / rel, "rb") as f:
        for line in io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8"):
            d = json.loads(line)
            if len(d["text"]) <= max_chars:
                out.append(d)
                if len(out) == n:
                    return out
    return out


def write_files(folder: Path, docs: list[dict], per_file: int) -> list[list[dict]]:
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [docs[i:i + per_file] for i in range(0, len(docs), per_file)]
    for k, chunk in enumerate(chunks):
        (folder / f"f{k:02d}.jsonl").write_text("".join(json.dumps(d) + "\n" for d in chunk))
    return chunks


def read_dataset(folder: Path) -> tuple[np.ndarray, list[list]]:
    arrays, rows = [], []
    base = 0
    for npy in sorted(folder.glob("part-*.npy")):
        header, r = read_tokens_sidecar(npy.with_name(npy.name[:-4] + ".docs.jsonl"))
        # the default layout: headerless little-endian ids (what Dolma and OLMo-core memory-map)
        assert header.array_format == "memmap" and header.dtype == "uint16"
        arr = np.fromfile(npy, dtype="<u2")
        assert len(arr) == header.num_tokens
        arrays.append(arr)
        rows += [[s + base, e + base, *rest] for s, e, *rest in r]
        base += len(arr)
    return np.concatenate(arrays), rows


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict]]:
    docs = short_docs("corpus/manpages/manpages-0000.jsonl.zst", 40) + short_docs(
        "corpus/python_docs/python_docs-0000.jsonl.zst", 20)
    folder = tmp_path_factory.mktemp("docs")
    write_files(folder, docs, per_file=8)
    return folder, docs


def test_one_and_two_processes_give_identical_bytes(tmp_path: Path, corpus: tuple[Path, list[dict]]) -> None:
    folder, docs = corpus
    s1 = tokenize_files(folder, tmp_path / "p1", tokenizer=TOKENIZER, max_tokens_per_file=6000, processes=1)
    s2 = tokenize_files(folder, tmp_path / "p2", tokenizer=TOKENIZER, max_tokens_per_file=6000, processes=2)
    names = sorted(p.name for p in (tmp_path / "p1").glob("part-*"))
    assert len(names) > 4 and names == sorted(p.name for p in (tmp_path / "p2").glob("part-*"))
    for name in names:
        assert (tmp_path / "p1" / name).read_bytes() == (tmp_path / "p2" / name).read_bytes(), name
    assert not (tmp_path / "p1" / ".work").exists()

    ref = Tokenizer.from_file(str(TOKENIZER))
    encoded = [ref.encode(d["text"], add_special_tokens=False).ids + [50279] for d in docs]
    tokens, rows = read_dataset(tmp_path / "p1")
    np.testing.assert_array_equal(tokens, np.concatenate(encoded))
    assert [r[2] for r in rows] == [d["id"] for d in docs]
    for shard in (tmp_path / "p1").glob("part-*.npy"):
        header, r = read_tokens_sidecar(shard.with_name(shard.name[:-4] + ".docs.jsonl"))
        assert header.num_tokens <= 6000 or len(r) == 1
    per_source: dict[str, dict[str, int]] = {}
    for d, e in zip(docs, encoded, strict=True):
        s = per_source.setdefault(d["source"], {"documents": 0, "tokens": 0})
        s["documents"] += 1
        s["tokens"] += len(e)
    assert s1["per_source"] == per_source == s2["per_source"]
    assert s1["tokens"] == sum(map(len, encoded)) and s1["documents"] == len(docs)


def test_seeded_shuffle(tmp_path: Path, corpus: tuple[Path, list[dict]]) -> None:
    folder, docs = corpus
    a = tokenize_files(folder, tmp_path / "a", tokenizer=TOKENIZER, shuffle_seed=7, max_tokens_per_file=8000)
    tokenize_files(folder, tmp_path / "b", tokenizer=TOKENIZER, shuffle_seed=7, max_tokens_per_file=8000, processes=2)
    tokenize_files(folder, tmp_path / "c", tokenizer=TOKENIZER, shuffle_seed=8, max_tokens_per_file=8000)
    ta, ra = read_dataset(tmp_path / "a")
    tb, rb = read_dataset(tmp_path / "b")
    tc, rc = read_dataset(tmp_path / "c")
    assert ra == rb and np.array_equal(ta, tb)
    ids = [d["id"] for d in docs]
    order_a, order_c = [r[2] for r in ra], [r[2] for r in rc]
    assert sorted(order_a) == sorted(ids) == sorted(order_c)
    assert order_a != ids and order_a != order_c
    ref = Tokenizer.from_file(str(TOKENIZER))
    by_id = {d["id"]: ref.encode(d["text"], add_special_tokens=False).ids + [50279] for d in docs}
    for start, end, doc_id, _, _ in ra:
        assert ta[start:end].tolist() == by_id[doc_id]
    assert a["documents"] == len(docs)


def test_rerun_of_finished_job_reuses_it_and_bad_input_is_named(tmp_path: Path,
                                                                corpus: tuple[Path, list[dict]]) -> None:
    folder, _ = corpus
    first = tokenize_files(folder, tmp_path / "t", tokenizer=TOKENIZER)
    again = tokenize_files(folder, tmp_path / "t", tokenizer=TOKENIZER)
    assert again["reused"] and again["tokens"] == first["tokens"]
    limited = tokenize_files(folder, tmp_path / "l", tokenizer=TOKENIZER, limit=5)
    assert limited["documents"] == 5 and [r[2] for r in read_dataset(tmp_path / "l")[1]] == [
        json.loads(line)["id"] for line in (folder / "f00.jsonl").read_text().splitlines()[:5]]

    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.jsonl").write_text(json.dumps({"id": "1", "text": "fine"}) + "\n")
    (bad / "b.jsonl").write_text(json.dumps({"id": "2", "text": "fine"}) + "\n" + '{"id": "3", "text": \n')
    with pytest.raises(FormatError, match=r"b.jsonl, line 2"):
        tokenize_files(bad, tmp_path / "bad-out", tokenizer=TOKENIZER, processes=2)
    assert not list((tmp_path / "bad-out").glob("part-*"))
