"""The token-shard reader on every layout it accepts: our sidecar over a ``.npy`` (version 1) or over a
headerless memmap (version 2), and Dolma's headerless memmap + ``.csv.gz`` alone (uint16 and uint32,
its dtype and EOS inferred). The files are written here byte by byte (``tofile``, ``gzip``, ``csv``)
from the tokens of the shared corpus fixture, so the reader is graded against the layouts, not
against itself; bad files are refused naming the file."""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from olmo_core.data.instances import InstanceSource
from olmo_core.data.loader import DataConfig
from olmo_core.data.tokens import TokenDataset
from olmo_core.interfaces import InterfaceError

EOS = 50279


def corpus_documents(corpus_tokens: Path) -> list[tuple[str, str, str, np.ndarray]]:
    """(id, source, source file, ids with EOS) of every document of the v1 fixture, read with
    ``np.load`` and ``json`` only."""
    out = []
    for npy in sorted(corpus_tokens.glob("*.npy")):
        arr = np.load(npy)
        lines = (npy.with_name(npy.name[:-4] + ".docs.jsonl")).read_text().splitlines()
        for start, end, doc_id, source, source_file in map(json.loads, lines[1:]):
            out.append((doc_id, source, source_file, arr[start:end].astype(np.int64)))
    return out


def write_memmap_shard(folder: Path, name: str, docs: list[tuple[str, str, str, np.ndarray]], *,
                       dtype: str = "<u2", sidecar: bool = True) -> None:
    """Dolma's layout (raw ids, ``start,end,id,src,loc`` rows), plus our v2 sidecar if asked."""
    folder.mkdir(parents=True, exist_ok=True)
    arr = np.concatenate([d[3] for d in docs]).astype(dtype)
    arr.tofile(folder / f"{name}.npy")
    rows, pos = [], 0
    for k, (doc_id, source, source_file, ids) in enumerate(docs):
        rows.append([pos, pos + len(ids), doc_id, source, source_file, k + 1])
        pos += len(ids)
    with gzip.open(folder / f"{name}.csv.gz", "wt", newline="") as f:
        csv.writer(f).writerows([[s, e, i, sf, loc] for s, e, i, _, sf, loc in rows])
    if sidecar:
        header = {"format": "olmo-stack/tokens", "version": 2, "array_format": "memmap",
                  "dtype": np.dtype(dtype).name, "eos_id": EOS, "pad_id": 1, "vocab_size": 50280,
                  "tokenizer": {"name": "t.json", "sha256": "0"}, "num_documents": len(docs), "num_tokens": pos,
                  "array": f"{name}.npy", "columns": ["start", "end", "id", "source", "source_file"]}
        (folder / f"{name}.docs.jsonl").write_text(
            "\n".join(json.dumps(x) for x in [header, *[r[:5] for r in rows]]) + "\n")


@pytest.mark.parametrize("layout", ["ours-memmap", "dolma-uint16", "dolma-uint32"])
def test_every_layout_reads_the_same_stream_and_documents(corpus_tokens: Path, tmp_path: Path, layout: str) -> None:
    docs = corpus_documents(corpus_tokens)
    dtype = "<u4" if layout == "dolma-uint32" else "<u2"
    # the same documents, cut into two shards at another place than the fixture's
    write_memmap_shard(tmp_path, "part-0-00000", docs[:20], dtype=dtype, sidecar=layout == "ours-memmap")
    write_memmap_shard(tmp_path, "part-0-00001", docs[20:], dtype=dtype, sidecar=layout == "ours-memmap")
    ds = TokenDataset(tmp_path, expect_eos_id=EOS)
    reference = TokenDataset(corpus_tokens)
    assert ds.num_tokens == reference.num_tokens and ds.num_documents == len(docs) == reference.num_documents
    np.testing.assert_array_equal(ds.tokens(0, ds.num_tokens), np.concatenate([d[3] for d in docs]))
    assert ds.eos_id == EOS
    assert [s.header["dtype"] for s in ds.shards] == [np.dtype(dtype).name] * 2
    bounds = np.cumsum([0] + [len(d[3]) for d in docs])
    for k in (0, 19, 20, len(docs) - 1):
        ref = ds.document_at(int(bounds[k]) + 1)
        assert (ref.id, ref.source_file, ref.start, ref.end) == (docs[k][0], docs[k][2], bounds[k], bounds[k + 1])
        # Dolma records no source (only the input file); ours keeps it
        assert ref.source == ("" if layout.startswith("dolma") else docs[k][1])
    if layout.startswith("dolma"):
        assert ds.pad_id is None and ds.vocab_size is None and ds.tokenizer is None
    else:
        assert ds.pad_id == 1 and ds.vocab_size == 50280


def test_mixed_shards_and_bad_files_are_named(corpus_tokens: Path, tmp_path: Path) -> None:
    docs = corpus_documents(corpus_tokens)
    write_memmap_shard(tmp_path / "mix", "a", docs[:5], sidecar=False)
    write_memmap_shard(tmp_path / "mix", "b", docs[5:9])
    mixed = TokenDataset(tmp_path / "mix")
    assert mixed.num_documents == 9 and mixed.vocab_size == 50280 and mixed.pad_id == 1
    with pytest.raises(InterfaceError, match="model expects 7"):
        TokenDataset(tmp_path / "mix", expect_eos_id=7)

    bad = tmp_path / "bad"
    write_memmap_shard(bad, "x", [docs[0], (*docs[1][:3], docs[1][3][:-1])], sidecar=False)  # one EOS missing
    with pytest.raises(InterfaceError, match=r"x\.npy: its documents end with 2 different tokens"):
        TokenDataset(bad)
    write_memmap_shard(bad, "x", docs[:2], sidecar=False)
    with open(bad / "x.npy", "ab") as f:
        f.write(b"\0")  # 1 byte too many for any dtype
    with pytest.raises(InterfaceError, match="2 \\(uint16\\) or 4 \\(uint32\\) bytes a token"):
        TokenDataset(bad)
    write_memmap_shard(bad, "x", docs[:2])
    np.save(bad / "x.npy", np.concatenate([d[3] for d in docs[:2]]).astype(np.uint16))  # a header it does not expect
    with pytest.raises(InterfaceError, match="header says"):
        TokenDataset(bad)
    sidecar = bad / "x.docs.jsonl"
    lines = sidecar.read_text().splitlines()
    header = json.loads(lines[0])
    header.pop("array_format")
    sidecar.write_text("\n".join([json.dumps(header), *lines[1:]]) + "\n")
    with pytest.raises(InterfaceError, match="x.docs.jsonl, line 1: field 'array_format'"):
        TokenDataset(bad)
    for f in bad.iterdir():
        if not f.name.endswith(".npy"):
            f.unlink()
    with pytest.raises(InterfaceError, match="no sidecar x.docs.jsonl \\(nor Dolma metadata x.csv.gz\\)"):
        TokenDataset(bad)


def test_loader_gives_document_ids_and_restarting_positions(corpus_tokens: Path, tmp_path: Path) -> None:
    docs = corpus_documents(corpus_tokens)
    write_memmap_shard(tmp_path, "part-00000", docs, sidecar=False)  # Dolma's layout
    source = InstanceSource(TokenDataset(tmp_path), seq_len=64, document_ids=True)
    bounds = np.cumsum([0] + [len(d[3]) for d in docs])
    crossings = 0
    for index in range(len(source)):
        ex = source.example(index)
        lo = index * 64
        # independently: the document of each position, and its offset from max(document start, lo)
        doc = [int(np.searchsorted(bounds, lo + t, side="right")) - 1 for t in range(64)]
        pos = [lo + t - max(int(bounds[d]), lo) for t, d in enumerate(doc)]
        assert ex["doc_ids"].tolist() == doc and ex["position_ids"].tolist() == pos
        crossings += len(set(doc)) > 1
    assert crossings > 10  # the check saw many document boundaries inside instances

    loader = DataConfig(paths=[str(tmp_path)], seq_len=64, global_batch_size=4, micro_batch_size=2,
                        document_masking=True).build(max_steps=1)
    mb = next(iter(loader))[0]
    assert set(mb) >= {"input_ids", "labels", "doc_ids", "position_ids"}
    for row, index in enumerate(mb["instance_index"].tolist()):
        assert torch.equal(mb["position_ids"][row], torch.from_numpy(source.example(index)["position_ids"]))


def test_ids_outside_the_vocabulary_are_refused_naming_shard_and_position(corpus_tokens: Path, tmp_path: Path) -> None:
    """A damaged Dolma shard (no recorded vocabulary) whose id is past the embedding: refused when read,
    naming the file and the token's position, instead of an IndexError inside the embedding."""
    docs = corpus_documents(corpus_tokens)[:6]
    write_memmap_shard(tmp_path / "d", "part-0", docs, dtype="<u2", sidecar=False)
    arr = np.fromfile(tmp_path / "d" / "part-0.npy", dtype="<u2")
    bad_at = len(arr) // 2
    arr[bad_at] = 50300  # fits uint16, past a 50,280-row embedding
    arr.tofile(tmp_path / "d" / "part-0.npy")
    clean = TokenDataset([tmp_path / "d"], vocab_limit=50304)  # large enough: reads fine
    assert clean.tokens(0, clean.num_tokens)[bad_at] == 50300
    ds = TokenDataset([tmp_path / "d"], vocab_limit=50280)
    assert ds.tokens(0, bad_at).max() < 50280  # the ids before it are fine
    with pytest.raises(InterfaceError, match=rf"part-0\.npy: token {bad_at} is id 50300"):
        ds.tokens(bad_at - 3, bad_at + 3)
