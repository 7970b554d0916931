"""Config round trips and hydra registration; presets against the published parameter counts
(computed by hand from the papers' shapes, see the figures below), built on the meta device."""

from __future__ import annotations

import json
import time

import pytest
import torch
from omegaconf import OmegaConf

from olmo_core.model import MODEL_PRESETS, ConfigError, ModelConfig, get_model_preset

# Published totals: OLMo-1B and OLMo-7B (Groeneveld et al. 2024, HF model cards: 1,176,764,416 and
# 6,888,095,744), OLMo-2-0425-1B and OLMo-2-1124-7B (HF safetensors totals).
PUBLISHED = {"olmo_1b": 1_176_764_416, "olmo_7b": 6_888_095_744, "olmo2_1b": 1_484_916_736,
             "olmo2_7b": 7_298_617_344}


def test_config_round_trips_through_json() -> None:
    for name in MODEL_PRESETS:
        cfg = get_model_preset(name)
        again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
        assert again == cfg


def test_from_dict_names_unknown_and_bad_fields() -> None:
    d = get_model_preset("tiny").to_dict()
    with pytest.raises(ConfigError, match="d_modle"):
        ModelConfig.from_dict({**d, "d_modle": 3})
    with pytest.raises(ConfigError, match="model.n_heads"):
        ModelConfig.from_dict({**d, "n_heads": 0})
    with pytest.raises(ConfigError, match="model.d_model"):
        ModelConfig.from_dict({**d, "n_heads": 3})
    with pytest.raises(ConfigError, match="model.norm"):
        ModelConfig.from_dict({**d, "norm": "batchnorm"})


def test_hydra_structured_config_and_presets_are_registered() -> None:
    from hydra.core.config_store import ConfigStore

    repo = ConfigStore.instance().repo
    assert "model_config.yaml" in repo
    assert {f"{n}.yaml" for n in MODEL_PRESETS} <= set(repo["model"])
    node = OmegaConf.merge(OmegaConf.structured(ModelConfig), {"d_model": 96, "feed_forward": {"target": "swiglu"}})
    cfg = ModelConfig.from_dict(node)
    assert cfg.d_model == 96
    with pytest.raises(Exception):  # noqa: B017 - OmegaConf's own type error
        OmegaConf.merge(OmegaConf.structured(ModelConfig), {"d_model": "wide"})


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_published_parameter_counts_on_meta(name: str) -> None:
    start = time.perf_counter()
    with torch.device("meta"):
        model = get_model_preset(name).build()
    assert time.perf_counter() - start < 10
    assert model.embeddings.weight.is_meta
    assert model.num_params() == PUBLISHED[name]


def test_published_shapes() -> None:
    c1, c7 = get_model_preset("olmo_1b"), get_model_preset("olmo_7b")
    assert (c1.mlp_hidden_size, c7.mlp_hidden_size) == (8192, 11008)
    assert c1.weight_tying and not c7.weight_tying
    assert (c1.vocab_size, c1.embedding_size, c1.eos_token_id, c1.pad_token_id) == (50280, 50304, 50279, 1)
    assert not c1.norm_affine and c1.norm == "layernorm" and c1.rope_theta == 10_000
    c2 = get_model_preset("olmo2_7b")
    assert c2.reordered_norm and c2.qk_norm and c2.norm == "rmsnorm" and c2.rope_theta == 500_000


def test_flops_per_token_closed_form() -> None:
    """OLMo-7B by hand: N_matmul = all params minus the input embedding (50304 * 4096), then
    6 * N + 12 * L * d * T."""
    with torch.device("meta"):
        model = get_model_preset("olmo_7b").build()
    n = 6_888_095_744 - 50304 * 4096
    assert model.flops_per_token(2048) == 6 * n + 12 * 32 * 4096 * 2048
    with torch.device("meta"):
        tied = get_model_preset("olmo_1b").build()
    assert tied.flops_per_token(2048) == 6 * 1_176_764_416 + 12 * 16 * 2048 * 2048
