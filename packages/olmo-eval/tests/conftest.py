"""Shared fixtures: the OLMo tokenizer, a slice of the shared corpus laid out Paloma-style, and a tiny
random OLMo in HF format (transformers' ``OlmoForCausalLM``) with the same weights as an olmo-core
checkpoint (converted with olmo-core's ``from_hf``)."""

from __future__ import annotations

import io
import json
import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
CORPUS = SHARED / "corpus"


@pytest.fixture(scope="session")
def tokenizer():
    from olmo_eval.tokenizer import load_tokenizer

    return load_tokenizer(TOKENIZER)


def read_corpus(source: str, n: int) -> list[dict]:
    import zstandard

    path = sorted((CORPUS / source).glob("*.jsonl.zst"))[0]
    with open(path, "rb") as raw:
        text = io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(raw), encoding="utf-8")
        docs = []
        for line in text:
            docs.append(json.loads(line))
            if len(docs) == n:
                break
    return docs


@pytest.fixture(scope="session")
def ppl_root(tmp_path_factory) -> Path:
    """``<source>/<subdomain>/*.jsonl.gz``: two corpus sources, two subdomains each, a few documents
    (texts cut to 6,000 characters so a document spans several windows of a small model)."""
    import gzip

    root = tmp_path_factory.mktemp("paloma")
    for source in ("books", "python_docs"):
        docs = read_corpus(source, 4)
        for k, sub in enumerate(("part_a", "part_b")):
            folder = root / source / sub
            folder.mkdir(parents=True)
            with gzip.open(folder / "docs.jsonl.gz", "wt", encoding="utf-8") as f:
                for d in docs[2 * k:2 * k + 2]:
                    f.write(json.dumps({"id": d["id"], "text": d["text"][:6000]}) + "\n")
    return root


def make_tiny_hf_olmo(out: Path, *, seed: int = 0, hidden: int = 32, layers: int = 2) -> Path:
    import torch
    from transformers import OlmoConfig, OlmoForCausalLM

    torch.manual_seed(seed)
    cfg = OlmoConfig(vocab_size=50304, hidden_size=hidden, intermediate_size=2 * hidden, num_hidden_layers=layers,
                     num_attention_heads=4, max_position_embeddings=2048, eos_token_id=50279, pad_token_id=1,
                     bos_token_id=None, tie_word_embeddings=False)
    model = OlmoForCausalLM(cfg).eval()
    # random init gives near-uniform logits; scaling the head makes greedy choices clear-cut
    with torch.no_grad():
        model.lm_head.weight.mul_(20.0)
    model.save_pretrained(out)
    shutil.copy(TOKENIZER, out / "tokenizer.json")
    return out


@pytest.fixture(scope="session")
def hf_dir(tmp_path_factory) -> Path:
    return make_tiny_hf_olmo(tmp_path_factory.mktemp("tiny") / "hf")


@pytest.fixture(scope="session")
def olmo_core_dir(hf_dir: Path, tmp_path_factory) -> Path:
    from olmo_core.convert import from_hf

    return Path(from_hf(hf_dir, tmp_path_factory.mktemp("tiny") / "olmo_core"))
