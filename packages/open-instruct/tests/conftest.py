"""Shared fixtures: the OLMo tokenizer, slices of the shared instruct data, a tiny OLMo model."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from instruct_data import head, write_jsonl

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
torch.set_num_threads(2)

@pytest.fixture(scope="session")
def tokenizer():
    from open_instruct.tokenizer import load_tokenizer

    return load_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_config():
    from olmo_core.model.config import ModelConfig

    return ModelConfig(d_model=64, n_layers=2, n_heads=4, mlp_hidden_size=128, max_sequence_length=512)


@pytest.fixture()
def tiny_model(tiny_model_config):

    torch.manual_seed(0)
    model = tiny_model_config.build()
    model.init_weights(0)
    return model


@pytest.fixture(scope="session")
def dpo_file(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("data") / "dpo.jsonl", head("dpo.jsonl.zst", 120))


@pytest.fixture(scope="session")
def sft_file(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("data") / "sft.jsonl", head("sft.jsonl.zst", 120))
