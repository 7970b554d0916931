"""A tiny random OLMo in HF format (transformers' ``OlmoForCausalLM``) and the same weights as an
olmo-core checkpoint (converted with olmo-core's ``from_hf``), with the OLMo tokenizer."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")

SHARED = Path(__file__).resolve().parents[4].parent / "shared" / "data"
TOKENIZER_JSON = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"


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
    shutil.copy(TOKENIZER_JSON, out / "tokenizer.json")
    return out


@pytest.fixture(scope="session")
def hf_dir(tmp_path_factory) -> Path:
    return make_tiny_hf_olmo(tmp_path_factory.mktemp("tiny") / "hf")


@pytest.fixture(scope="session")
def olmo_core_dir(hf_dir: Path, tmp_path_factory) -> Path:
    from olmo_core.convert import from_hf

    return Path(from_hf(hf_dir, tmp_path_factory.mktemp("tiny") / "olmo_core"))


@pytest.fixture(scope="session")
def codec():
    from olmo_eval.generation.models import TextCodec

    return TextCodec.from_file(TOKENIZER_JSON)
