"""One config and one run per method: presets compose to their method's config class, and
``train.run`` dispatches on ``kind`` (an unknown one is refused naming the known ones)."""

from __future__ import annotations

import pytest
from hydra.errors import HydraException

from open_instruct.train.config import InstructRunConfig
from open_instruct.train.dpo import DPOConfig
from open_instruct.train.presets import RUN_PRESETS, compose_config
from open_instruct.train.run import METHODS, method_module, run
from open_instruct.train.sft import SFTConfig


def test_presets_are_their_methods_configs() -> None:
    sft, dpo = compose_config("tiny_sft"), compose_config("tiny_dpo", ["dpo.loss=ipo", "dpo.beta=0.5"])
    assert type(sft) is SFTConfig and sft.kind == "sft" and not hasattr(sft, "dpo")
    assert type(dpo) is DPOConfig and (dpo.kind, dpo.dpo.loss, dpo.dpo.beta) == ("dpo", "ipo", 0.5)
    assert isinstance(sft, InstructRunConfig) and isinstance(dpo, InstructRunConfig)
    assert type(compose_config("tulu3_dpo_norm_olmo_7b").build_loss()).__name__ == "DPOLoss"
    for name, make in RUN_PRESETS.items():
        cfg = make()
        assert method_module(cfg.kind).__name__ == METHODS[cfg.kind], name
    with pytest.raises(HydraException, match="Could not override 'dpo.beta'"):
        compose_config("tiny_sft", ["dpo.beta=1"])  # an SFT run has no preference knobs


def test_unknown_kind_is_refused_naming_the_methods() -> None:
    cfg = SFTConfig(kind="ppo")
    with pytest.raises(ValueError, match="kind='ppo'.*sft, dpo, grpo"):
        run(cfg)


def test_grpo_preset_and_command(tmp_path, capsys) -> None:
    from open_instruct.cli import main
    from open_instruct.train.grpo import GRPOConfig

    cfg = compose_config("tiny_grpo", ["tasks=t.jsonl", "loss_type=dr_grpo", "rollout.group_size=2"])
    assert type(cfg) is GRPOConfig and (cfg.kind, cfg.tasks, cfg.loss_type, cfg.rollout.group_size) == (
        "grpo", "t.jsonl", "dr_grpo", 2)
    assert main(["grpo", "--print-config", "beta=0"]) == 0  # tiny_grpo is the command's default preset
    assert "kind: grpo" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="tiny_sft is a sft preset; use `open-instruct sft`"):
        main(["grpo", "--preset", "tiny_sft", "--print-config"])
