"""GRPOConfig is a hydra structured config of its own kind that builds its loss and refuses bad input
with one clear line before any model is built."""

from __future__ import annotations

import pytest
from grpo.tasks_fixture import write_tasks
from hydra import compose, initialize
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from open_instruct.grpo.objective import GRPOLoss
from open_instruct.train.grpo import GRPOConfig, run


def test_composes_with_overrides_and_builds_its_loss() -> None:
    ConfigStore.instance().store(name="grpo_test_config", node=GRPOConfig())
    with initialize(version_base=None, config_path=None):
        raw = compose(config_name="grpo_test_config",
                      overrides=["loss_type=dr_grpo", "beta=0.04", "rollout.group_size=8", "rollout.max_new_tokens=64",
                                 "rollout.scale_rewards=false", "batch.global_batch_size=4"])
    cfg = OmegaConf.to_object(raw)
    assert isinstance(cfg, GRPOConfig) and cfg.kind == "grpo" and cfg.rollout.group_size == 8
    loss = cfg.build_loss()
    assert isinstance(loss, GRPOLoss) and loss.loss_type == "dr_grpo" and loss.max_completion_length == 64
    assert loss.beta == 0.04 and loss.temperature == cfg.rollout.temperature


def test_bad_settings_fail_before_training(tmp_path) -> None:
    with pytest.raises(ValueError, match="tasks: the task JSONL"):
        run(GRPOConfig())
    with pytest.raises(ValueError, match="loss_type='ppo': unknown"):
        run(GRPOConfig(tasks="x.jsonl", loss_type="ppo"))
    tasks = write_tasks(tmp_path / "t.jsonl", 4)
    cfg = GRPOConfig(tasks=str(tasks), init_from="tiny")
    cfg.trainer.run_dir = str(tmp_path / "run")
    cfg.batch.global_batch_size = 8
    with pytest.raises(ValueError, match="8 prompts per step, but the task file has 4"):
        run(cfg)
    cfg.batch.global_batch_size, cfg.data.max_length, cfg.rollout.max_new_tokens = 2, 64, 60
    with pytest.raises(ValueError, match="data.max_length=64 is shorter"):
        run(cfg)
