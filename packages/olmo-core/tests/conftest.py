"""Shared fixtures: a tokenized slice of the shared corpus in the tokenized-dataset format, written
directly (olmo-core must not import dolma-tools) with the OLMo tokenizer from ../shared/data."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
EOS, PAD = 50279, 1

#: tiny model overrides used by trainer tests (d_model 64, 2 layers)
TINY_MODEL = ["model.d_model=64", "model.n_heads=4", "model.mlp_hidden_size=192", "model.n_layers=2"]

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def read_corpus_docs(source: str, n: int) -> list[dict]:
    import zstandard

    path = sorted((SHARED / "corpus" / source).glob("*.jsonl.zst"))[0]
    docs = []
    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as reader:
        import io

        for line in io.TextIOWrapper(reader, encoding="utf-8"):
            docs.append(json.loads(line))
            if len(docs) >= n:
                break
    return docs


def write_token_shard(folder: Path, name: str, docs: list[tuple[str, str, str, list[int]]]) -> None:
    """docs: (id, source, source_file, token ids without EOS)."""
    arr = np.concatenate([np.array(t + [EOS], dtype=np.uint16) for *_m, t in docs])
    tmp = folder / f"{name}.tmp.npy"
    np.save(tmp, arr)
    tmp.replace(folder / f"{name}.npy")
    rows, pos = [], 0
    for doc_id, source, source_file, toks in docs:
        rows.append([pos, pos + len(toks) + 1, doc_id, source, source_file])
        pos += len(toks) + 1
    header = {"format": "olmo-stack/tokens", "version": 1, "dtype": "uint16", "eos_id": EOS, "pad_id": PAD,
              "vocab_size": 50280, "tokenizer": {"name": TOKENIZER.name,
                                                 "sha256": hashlib.sha256(TOKENIZER.read_bytes()).hexdigest()},
              "num_documents": len(docs), "num_tokens": pos, "array": f"{name}.npy",
              "columns": ["start", "end", "id", "source", "source_file"]}
    (folder / f"{name}.docs.jsonl").write_text("\n".join(json.dumps(x) for x in [header, *rows]) + "\n")


def make_corpus_tokens(folder: Path, per_source: int = 12, max_tokens_per_doc: int = 1500) -> Path:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER))
    folder.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(("books", "code", "python_docs")):
        docs = read_corpus_docs(source, per_source)
        enc = tok.encode_batch([d["text"] for d in docs], add_special_tokens=False)
        rows = [(d["id"], d["source"], f"corpus/{source}", e.ids[:max_tokens_per_doc]) for d, e in zip(docs, enc)]
        write_token_shard(folder, f"part-{i:05d}", rows)
    return folder


@pytest.fixture(scope="session")
def corpus_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_corpus_tokens(tmp_path_factory.mktemp("tokens"))


def run_overrides(tokens: Path, run_dir: Path) -> list[str]:
    """The small pretraining run every trainer test shares: 8 steps of 4 x 32 tokens."""
    return [*TINY_MODEL, f"data.paths=[{tokens}]", f"trainer.run_dir={run_dir}", "data.seq_len=32",
            "data.global_batch_size=4", "data.micro_batch_size=2", "trainer.max_steps=8",
            "trainer.checkpoint.every=3", "optim.scheduler.warmup_steps=2", "optim.lr=1e-2"]


@pytest.fixture(scope="session")
def reference_run(corpus_tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """That run, uninterrupted, in one process; returns its run dir."""
    from olmo_core.config.load import run_preset

    run_dir = tmp_path_factory.mktemp("reference_run")
    run_preset("tiny", run_overrides(corpus_tokens, run_dir)).build().fit()
    return run_dir
