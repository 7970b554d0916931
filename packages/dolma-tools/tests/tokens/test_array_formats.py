"""The two array layouts of ``dolma-tools tokens``: the default headerless memmap with Dolma's
``.csv.gz`` metadata (read back here with ``np.fromfile``, ``gzip`` and ``csv`` only, as Dolma's
``MemmapWriter`` lays them out: rows ``start,end,id,src,loc``, ``loc`` the 1-based input line), and
NumPy ``.npy`` files on request; switching layouts in one destination leaves no file of the other."""

from __future__ import annotations

import csv
import gzip
import io
import json
from pathlib import Path

import numpy as np
import pytest
import zstandard
from tokenizers import Tokenizer

from dolma_tools.cli import main
from dolma_tools.interfaces import read_tokens_sidecar
from dolma_tools.tokens import tokenize_files

SHARED = Path(__file__).resolve().parents[5] / "shared" / "data"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"


@pytest.fixture(scope="module")
def docs_folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[tuple[str, int, dict]]]:
    """Two files of reference documents; every other file line is blank, so line numbers and
    document positions differ. Returns (folder, [(file, line, doc)])."""
    with open(SHARED / "corpus/reference/reference-0000.jsonl.zst", "rb") as f:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(f), encoding="utf-8")
        docs = [json.loads(line) for _, line in zip(range(24), text)]
    folder = tmp_path_factory.mktemp("docs")
    where = []
    for k, chunk in enumerate((docs[:12], docs[12:])):
        path = folder / f"f{k}.jsonl"
        path.write_text("".join(json.dumps(d) + "\n\n" for d in chunk))
        where += [(str(path), 2 * i + 1, d) for i, d in enumerate(chunk)]
    return folder, where


def test_memmap_default_is_dolmas_layout(tmp_path: Path, docs_folder: tuple[Path, list]) -> None:
    folder, where = docs_folder
    out = tmp_path / "t"
    tokenize_files(folder, out, tokenizer=TOKENIZER, max_tokens_per_file=30_000)
    ref = Tokenizer.from_file(str(TOKENIZER))
    expected = [ref.encode(d["text"], add_special_tokens=False).ids + [50279] for _, _, d in where]
    shards = sorted(out.glob("part-*.npy"))
    assert len(shards) > 1
    tokens, meta = [], []
    for shard in shards:
        header, rows = read_tokens_sidecar(shard.with_name(shard.name[:-4] + ".docs.jsonl"))
        assert header.array_format == "memmap" and header.version == 2
        raw = np.fromfile(shard, dtype="<u2")
        assert shard.stat().st_size == 2 * header.num_tokens  # no header: 2 bytes a token, nothing else
        with gzip.open(shard.with_name(shard.name[:-4] + ".csv.gz"), "rt", newline="") as f:
            dolma_rows = list(csv.reader(f))
        assert [[int(r[0]), int(r[1]), r[2], r[3], int(r[4])] for r in dolma_rows] == [
            [s, e, i, sf, line] for (s, e, i, _, sf), (_, line, _) in
            zip(rows, where[len(meta):len(meta) + len(rows)], strict=True)]
        for r in dolma_rows:
            tokens.append(raw[int(r[0]):int(r[1])].tolist())
        meta += [(r[3], int(r[4]), r[2]) for r in dolma_rows]
    assert tokens == expected
    assert meta == [(path, line, d["id"]) for path, line, d in where]


def test_npy_option_and_switching_layouts(tmp_path: Path, docs_folder: tuple[Path, list]) -> None:
    folder, where = docs_folder
    out = tmp_path / "t"
    assert main(["tokens", "--documents", str(folder), "--destination", str(out), "--tokenizer", str(TOKENIZER),
                 "--max-tokens-per-file", "30000", "--array-format", "npy", "--no-progress"]) == 0
    assert not list(out.glob("*.csv.gz"))
    ref = Tokenizer.from_file(str(TOKENIZER))
    expected = np.concatenate([ref.encode(d["text"], add_special_tokens=False).ids + [50279] for _, _, d in where])
    got = []
    for shard in sorted(out.glob("part-*.npy")):
        header, _ = read_tokens_sidecar(shard.with_name(shard.name[:-4] + ".docs.jsonl"))
        assert header.array_format == "npy"
        got.append(np.load(shard))
    np.testing.assert_array_equal(np.concatenate(got), expected)

    # the same destination in the other layout: re-packed (not taken for finished), the old files replaced
    summary = tokenize_files(folder, out, tokenizer=TOKENIZER, max_tokens_per_file=30_000)
    assert not summary.get("reused") and summary["array_format"] == "memmap"
    for shard in sorted(out.glob("part-*.npy")):
        header, _ = read_tokens_sidecar(shard.with_name(shard.name[:-4] + ".docs.jsonl"))
        assert header.array_format == "memmap" and shard.stat().st_size == 2 * header.num_tokens
        assert shard.with_name(shard.name[:-4] + ".csv.gz").is_file()
    np.testing.assert_array_equal(
        np.concatenate([np.fromfile(s, dtype="<u2") for s in sorted(out.glob("part-*.npy"))]), expected)
    with pytest.raises(ValueError, match="array format 'raw'"):
        tokenize_files(folder, tmp_path / "bad", tokenizer=TOKENIZER, array_format="raw")


def test_sidecar_array_format_is_validated(tmp_path: Path) -> None:
    from dolma_tools.interfaces import FormatError

    header = {"format": "olmo-stack/tokens", "version": 2, "dtype": "uint16", "eos_id": 0, "pad_id": 1,
              "vocab_size": 10, "tokenizer": {"name": "t", "sha256": "0"}, "num_documents": 1, "num_tokens": 2,
              "array": "part-00000.npy", "columns": ["start", "end", "id", "source", "source_file"]}
    path = tmp_path / "part-00000.docs.jsonl"
    for fmt, ok in (("raw", False), (None, False), ("memmap", True), ("npy", True)):
        h = {**header, **({} if fmt is None else {"array_format": fmt})}
        path.write_text(json.dumps(h) + "\n" + json.dumps([0, 2, "a", "s", "f"]) + "\n")
        if ok:
            assert read_tokens_sidecar(path)[0].array_format == fmt
        else:
            with pytest.raises(FormatError, match="array_format"):
                read_tokens_sidecar(path)
    # version 1 predates the field: its arrays are .npy files
    path.write_text(json.dumps({**header, "version": 1}) + "\n" + json.dumps([0, 2, "a", "s", "f"]) + "\n")
    assert read_tokens_sidecar(path)[0].array_format == "npy"
