"""The contracts olmo-core owns: FeedForward shape checks, checkpoint manifests, token reading."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from olmo_core.data.tokens import TokenDataset
from olmo_core.interfaces import InterfaceError, check_feed_forward, validate_checkpoint


def test_feed_forward_shape_contract() -> None:
    check_feed_forward(torch.nn.Linear(8, 8), 8)
    with pytest.raises(InterfaceError, match="same shape"):
        check_feed_forward(torch.nn.Linear(8, 4), 8)


def _write_ckpt(path: Path) -> None:
    path.mkdir()
    files = {"config.json": b'{"model": {}}', "model.safetensors": b"0123456789"}
    for name, data in files.items():
        (path / name).write_bytes(data)
    manifest = {"format": "olmo-core/checkpoint", "version": 1, "step": 3, "sharded": False,
                "files": {n: {"bytes": len(d), "sha256": hashlib.sha256(d).hexdigest()} for n, d in files.items()}}
    (path / "manifest.json").write_text(json.dumps(manifest))


def test_checkpoint_manifest_detects_truncation_and_corruption(tmp_path: Path) -> None:
    ckpt = tmp_path / "step3"
    _write_ckpt(ckpt)
    assert validate_checkpoint(ckpt).step == 3
    (ckpt / "model.safetensors").write_bytes(b"01234")
    with pytest.raises(InterfaceError, match="model.safetensors: 5 bytes.*truncated"):
        validate_checkpoint(ckpt)
    (ckpt / "model.safetensors").write_bytes(b"0123456780")
    with pytest.raises(InterfaceError, match="SHA-256"):
        validate_checkpoint(ckpt)
    (ckpt / "manifest.json").unlink()
    with pytest.raises(InterfaceError, match="unfinished"):
        validate_checkpoint(ckpt)


def _shard(folder: Path, name: str, docs: list[list[int]], eos: int = 9) -> None:
    arr = np.concatenate([np.array(d + [eos], dtype=np.uint16) for d in docs])
    np.save(folder / f"{name}.npy", arr)
    rows, pos = [], 0
    for i, d in enumerate(docs):
        rows.append([pos, pos + len(d) + 1, f"{name}-{i}", "src", "f.jsonl"])
        pos += len(d) + 1
    header = {"format": "olmo-stack/tokens", "version": 1, "dtype": "uint16", "eos_id": eos, "pad_id": 1,
              "vocab_size": 10, "tokenizer": {"name": "t", "sha256": "0"}, "num_documents": len(docs),
              "num_tokens": pos, "array": f"{name}.npy", "columns": ["start", "end", "id", "source", "source_file"]}
    (folder / f"{name}.docs.jsonl").write_text("\n".join(json.dumps(x) for x in [header, *rows]) + "\n")


def test_token_dataset_spans_shards_and_traces_documents(tmp_path: Path) -> None:
    _shard(tmp_path, "part-00000", [[1, 2, 3], [4]])
    _shard(tmp_path, "part-00001", [[5, 6], [7, 8, 8, 8]])
    ds = TokenDataset(tmp_path)
    assert ds.num_tokens == 4 + 2 + 3 + 5 and ds.num_documents == 4
    np.testing.assert_array_equal(ds.tokens(4, 9), [4, 9, 5, 6, 9])
    ref = ds.document_at(10)
    assert (ref.id, ref.start, ref.end) == ("part-00001-1", 9, 14)
    assert [r.id for r in ds.documents_in(3, 10)] == ["part-00000-0", "part-00000-1", "part-00001-0",
                                                      "part-00001-1"]


def test_unfinished_or_inconsistent_shard_refused(tmp_path: Path) -> None:
    np.save(tmp_path / "part-00000.npy", np.zeros(3, dtype=np.uint16))
    with pytest.raises(InterfaceError, match="no sidecar"):
        TokenDataset(tmp_path)
    _shard(tmp_path, "part-00000", [[1, 2]])
    np.save(tmp_path / "part-00000.npy", np.zeros(7, dtype=np.uint16))
    with pytest.raises(InterfaceError, match="header says"):
        TokenDataset(tmp_path)
