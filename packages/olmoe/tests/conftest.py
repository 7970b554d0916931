"""Shared fixtures: a tokenized slice of the shared corpus (written in the tokenized-dataset format with
the OLMo tokenizer, olmoe must not import dolma-tools) and a short tiny-MoE training run."""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
CORPUS = SHARED / "corpus"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
EOS, PAD = 50279, 1
SOURCES = ("books", "code", "reference", "manpages")

os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def read_docs(source: str, n: int) -> list[dict]:
    import zstandard

    path = sorted((CORPUS / source).glob("*.jsonl.zst"))[0]
    docs = []
    with open(path, "rb") as f, zstandard.ZstdDecompressor().stream_reader(f) as reader:
        for line in io.TextIOWrapper(reader, encoding="utf-8"):
            docs.append(json.loads(line))
            if len(docs) >= n:
                break
    return docs


def write_tokens(folder: Path, per_source: int = 6, max_tokens_per_doc: int = 600) -> Path:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(TOKENIZER))
    folder.mkdir(parents=True, exist_ok=True)
    for i, source in enumerate(SOURCES):
        docs = read_docs(source, per_source)
        encs = tok.encode_batch([d["text"][: max_tokens_per_doc * 8] for d in docs], add_special_tokens=False)
        toks = [e.ids[:max_tokens_per_doc] for e in encs]
        arr = np.concatenate([np.array(t + [EOS], dtype=np.uint16) for t in toks])
        name = f"part-{i:05d}"
        np.save(folder / f"{name}.npy", arr)
        rows, pos = [], 0
        for d, t in zip(docs, toks):
            rows.append([pos, pos + len(t) + 1, d["id"], source, f"corpus/{source}"])
            pos += len(t) + 1
        header = {"format": "olmo-stack/tokens", "version": 1, "dtype": "uint16", "eos_id": EOS, "pad_id": PAD,
                  "vocab_size": 50280, "tokenizer": {"name": TOKENIZER.name,
                                                     "sha256": hashlib.sha256(TOKENIZER.read_bytes()).hexdigest()},
                  "num_documents": len(docs), "num_tokens": pos, "array": f"{name}.npy",
                  "columns": ["start", "end", "id", "source", "source_file"]}
        (folder / f"{name}.docs.jsonl").write_text("\n".join(json.dumps(x) for x in [header, *rows]) + "\n")
    return folder


@pytest.fixture(scope="session")
def corpus_tokens(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tokens(tmp_path_factory.mktemp("tokens"))


#: `olmo-core train` overrides for a tiny MoE OLMo (the olmoe_tiny layout at d_model 64) on `corpus_tokens`
def moe_overrides(tokens: Path, run_dir: Path, steps: int = 8) -> list[str]:
    return ["--preset", "tiny", f"data.paths=[{tokens}]", f"trainer.run_dir={run_dir}", f"trainer.max_steps={steps}",
            f"trainer.checkpoint.every={steps // 2}", "model.d_model=64", "model.n_heads=4", "model.norm=rmsnorm",
            "model.norm_affine=true", "model.qk_norm=true", "model.weight_tying=false", "model.init=normal",
            "model.feed_forward.target=olmoe.moe:MoEFeedForward", "+model.feed_forward.options.num_experts=8",
            "+model.feed_forward.options.top_k=2", "+model.feed_forward.options.hidden_size=64",
            "+model.feed_forward.options.num_layers=2", "+trainer.callbacks.routing_metrics={}",
            "parallel.param_dtype=float32"]


def run_cli(args: list[str], *, timeout: int = 300) -> str:
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "1", "WANDB_MODE": "offline", "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=env)
    assert proc.returncode == 0, f"{' '.join(args)} failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc.stdout


@pytest.fixture(scope="session")
def tiny_moe_run(corpus_tokens: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A single-process tiny MoE run through `olmo-core train`: checkpoints at steps 4 and 8."""
    run_dir = tmp_path_factory.mktemp("moe-run")
    run_cli(["-m", "olmo_core.cli", "train", *moe_overrides(corpus_tokens, run_dir)])
    return run_dir
