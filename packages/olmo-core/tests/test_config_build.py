"""Each config builds its own object: the one way to make a model, optimizer, loader, loss or trainer."""

from __future__ import annotations

import pytest
import torch

from olmo_core.config.load import config_from_dict, run_preset
from olmo_core.config.schema import RunConfig
from olmo_core.data.loader import DataConfig
from olmo_core.distributed.parallelize import ParallelConfig
from olmo_core.model.config import ModelConfig
from olmo_core.train.loss import LanguageModelingLoss, LossConfig


def _small() -> ModelConfig:
    return ModelConfig(d_model=32, n_layers=1, n_heads=2, mlp_hidden_size=64, vocab_size=100, embedding_size=128,
                       eos_token_id=99, max_sequence_length=64)


def test_model_built_on_meta_allocates_nothing() -> None:
    model = _small().build(init_device="meta")
    assert all(p.device.type == "meta" for p in model.parameters())


def test_parallel_build_is_the_seeded_model_at_any_entry() -> None:
    ref = _small().build()
    ref.init_weights(3)
    model = ParallelConfig(strategy="single", param_dtype="float32").build(_small(), torch.device("cpu"), init_seed=3)
    for (name, a), (_, b) in zip(ref.state_dict().items(), model.state_dict().items(), strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=name)


def test_loss_and_data_configs_build_or_name_the_bad_field() -> None:
    assert isinstance(LossConfig(z_loss_multiplier=1e-4).build(), LanguageModelingLoss)
    with pytest.raises(ValueError, match="loss.name: unknown 'nope'"):
        LossConfig(name="nope").build()
    with pytest.raises(ValueError, match="data.paths is empty"):
        DataConfig().build()


def test_run_config_round_trips_through_its_json_form() -> None:
    cfg = run_preset("tiny", ["optim.scheduler.warmup_steps=7", "optim.lr=0.01"])
    back = config_from_dict(RunConfig, cfg.to_dict())
    assert back.to_dict() == cfg.to_dict() and back.optim.scheduler.warmup_steps == 7
    with pytest.raises(Exception, match="warmup_steps"):  # the pre-SchedulerConfig key names itself
        config_from_dict(RunConfig, {**cfg.to_dict(), "optim": {"warmup_steps": 3}})
