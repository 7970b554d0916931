"""Conformance: dolma-tools writes a tokenized dataset, olmo-core reads it back, in both array layouts
(the default headerless memmap with Dolma's ``.csv.gz``, and ``.npy``).

Expected ids come from the HF ``tokenizers`` library directly, and the documents from a plain
zstandard + json read, so neither side of the contract grades itself."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
import zstandard
from tokenizers import Tokenizer

from dolma_tools.tokens import tokenize_files
from olmo_core.data.tokens import TokenDataset


def _first_docs(path: Path, n: int) -> list[dict]:
    with open(path, "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        return [json.loads(line) for _, line in zip(range(n), text)]


@pytest.mark.parametrize("array_format", ["memmap", "npy"])
def test_dolma_tools_writes_what_olmo_core_reads(tmp_path: Path, shared_data: Path, array_format: str) -> None:
    src = tmp_path / "docs"
    src.mkdir()
    # 200 documents from two sources, in two files, so shards and sources both vary.
    docs = _first_docs(shared_data / "corpus/books/books-0000.jsonl.zst", 100) + _first_docs(
        shared_data / "corpus/code/code-0000.jsonl.zst", 100)
    for name, chunk in (("a.jsonl", docs[:100]), ("b.jsonl", docs[100:])):
        (src / name).write_text("".join(json.dumps(d) + "\n" for d in chunk))
    tok_file = shared_data / "tokenizers/allenai_gpt-neox-olmo-dolma-v1_5.json"

    summary = tokenize_files(src, tmp_path / "tokens", tokenizer=tok_file, max_tokens_per_file=200_000,
                             array_format=array_format)
    assert summary["documents"] == 200
    assert len(summary["shards"]) > 1, "the 200 documents should span several 200k-token shards"

    ds = TokenDataset(tmp_path / "tokens", expect_eos_id=50279)
    assert [s.array_format for s in ds.shards] == [array_format] * len(summary["shards"])
    assert ds.vocab_size == 50280 and ds.tokenizer is not None and ds.tokenizer["name"] == tok_file.name
    assert ds.num_documents == 200 and ds.eos_id == 50279 and ds.pad_id == 1
    reference = Tokenizer.from_file(str(tok_file))
    expected = np.concatenate([np.array(reference.encode(d["text"], add_special_tokens=False).ids + [50279])
                               for d in docs])
    assert ds.num_tokens == len(expected)
    np.testing.assert_array_equal(ds.tokens(0, ds.num_tokens), expected)

    # Every position maps to the right document, checked against boundaries computed independently.
    bounds = np.cumsum([0] + [len(reference.encode(d["text"], add_special_tokens=False).ids) + 1 for d in docs])
    rng = np.random.default_rng(0)
    for pos in list(rng.integers(0, ds.num_tokens, 300)) + [0, ds.num_tokens - 1, int(bounds[57]),
                                                           int(bounds[57]) - 1]:
        k = int(np.searchsorted(bounds, pos, side="right")) - 1
        ref = ds.document_at(int(pos))
        assert ref.id == docs[k]["id"] and ref.source == docs[k]["source"]
        assert (ref.start, ref.end) == (bounds[k], bounds[k + 1])
        assert ds.tokens(ref.end - 1, ref.end)[0] == 50279
