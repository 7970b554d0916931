"""The stack's config holds olmo-core's and open-instruct's typed run configs: presets resolve to the
values the demo has always trained with, each default lives in one place, hydra-style overrides reach
the nested configs, and a stage reads back from its manifest config exactly the run config it builds."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from unittest import mock

import pytest

from olmo_core.config.load import run_preset
from olmo_core.config.schema import RunConfig
from olmo_stack.cli import main
from olmo_stack.pipeline.config import PretrainConfig, load_stack_config
from open_instruct.train.config import InstructRunConfig
from open_instruct.train.presets import RUN_PRESETS


def test_presets_resolve_to_the_demo_values() -> None:
    demo, smoke = load_stack_config("demo"), load_stack_config("smoke")
    # demo: a checkpoint, and a revision (trainer.callbacks.hub_revisions), every 25 steps: ten of them
    for cfg, steps, seq, every, permanent in ((demo, 250, 256, 25, 100), (smoke, 40, 128, 20, 40)):
        p = cfg.pretrain
        assert isinstance(p, RunConfig) and isinstance(cfg.adapt.sft, InstructRunConfig)
        assert (p.trainer.max_steps, p.data.seq_len, p.data.global_batch_size, p.data.micro_batch_size) == (steps, seq, 8, 8)
        assert (p.optim.lr, p.optim.scheduler.warmup_steps, p.parallel.param_dtype) == (3e-3, 12, "float32")
        assert (p.trainer.checkpoint.every, p.trainer.checkpoint.keep_last, p.trainer.checkpoint.permanent_every) == (
            every, 2, permanent)
        assert p.trainer.callbacks["hub_revisions"] == {"every": every}
    # adaptation on the procedural task suite: its size, and the smoke preset's few steps
    assert (demo.adapt.tasks.train_per_family, demo.adapt.tasks.heldout_per_family, demo.adapt.tasks.families) == (
        1600, 100, None)
    assert (demo.adapt.onpolicy.prompts, demo.adapt.onpolicy.temperature, demo.adapt.grpo.limit) == (1200, 0.7, 256)
    assert (smoke.adapt.tasks.train_per_family, smoke.adapt.tasks.heldout_per_family) == (40, 10)
    assert (smoke.adapt.onpolicy.prompts, smoke.adapt.onpolicy.gold_when_all_fail, smoke.adapt.grpo.limit) == (
        48, True, 12)
    for cfg in (demo, smoke):
        assert (cfg.adapt.sft.data.max_length, cfg.adapt.dpo.data.max_length, cfg.adapt.dpo.data.holdout) == (64, 64, 0)
    assert (smoke.pretrain.eval_every, smoke.pretrain.inloop_tasks, smoke.pretrain.inloop_limit) == (20, "arc_easy", 10)


def _plain(obj: object) -> object:
    return json.loads(json.dumps(dataclasses.asdict(obj)))  # type: ignore[call-overload]


def test_one_default_per_knob() -> None:
    # The stack sets no learning rate: it is olmo-core's tiny preset's, and open-instruct's presets'.
    tiny, demo = run_preset("tiny"), load_stack_config("demo")
    assert _plain(demo.pretrain.optim) == _plain(dataclasses.replace(
        tiny.optim, scheduler=dataclasses.replace(tiny.optim.scheduler, warmup_steps=12)))
    assert demo.pretrain.model == tiny.model and demo.pretrain.loss == tiny.loss
    # open-instruct's tiny presets, changed only where the task suite needs it (pipeline/config.py says why):
    # no instruct-set exclusions, no preference hold-out (every stage is judged on the held-out tasks), short
    # sequences, the learning rates and epochs measured on the tasks, GRPO's prompt count
    sft, dpo, grpo = RUN_PRESETS["tiny_sft"](), RUN_PRESETS["tiny_dpo"](), RUN_PRESETS["tiny_grpo"]()
    sft.data.exclude, sft.data.max_length, sft.optim.lr, sft.batch.epochs = [], 64, 2e-3, 1
    dpo.data.holdout, dpo.data.max_length, dpo.optim.lr = 0, 64, 1e-4
    grpo.data.max_length, grpo.limit = 64, 256
    assert _plain(demo.adapt.sft) == _plain(sft)
    assert _plain(demo.adapt.dpo) == _plain(dpo)
    assert _plain(demo.adapt.grpo) == _plain(grpo)


def test_overrides_reach_the_nested_package_configs(tmp_path: Path) -> None:
    cfg = load_stack_config("smoke", ["pretrain.optim.lr=1e-3", "pretrain.trainer.max_steps=7",
                                      "adapt.dpo.optim.lr=5e-4", "adapt.sft.batch.epochs=1", "pretrain.eval_every=5"])
    assert (cfg.pretrain.optim.lr, cfg.pretrain.trainer.max_steps, cfg.pretrain.eval_every) == (1e-3, 7, 5)
    assert (cfg.adapt.dpo.optim.lr, cfg.adapt.sft.batch.epochs) == (5e-4, 1)
    yaml = tmp_path / "my.yaml"
    yaml.write_text("pretrain:\n  optim:\n    scheduler:\n      warmup_steps: 3\n")
    assert load_stack_config(str(yaml), ["pretrain.data.seq_len=64"]).pretrain.optim.scheduler.warmup_steps == 3
    with pytest.raises(Exception, match="no_such_knob"):
        load_stack_config("demo", ["pretrain.optim.no_such_knob=1"])


def test_moe_swaps_the_base_model_and_overrides_apply_on_top() -> None:
    cfg = load_stack_config("smoke", ["pretrain.model.n_layers=3"], moe=True)
    assert cfg.moe and cfg.pretrain.model.feed_forward.target.endswith("MoEFeedForward")
    assert cfg.pretrain.model.n_layers == 3
    assert load_stack_config("smoke", ["moe=true"]).pretrain.model.feed_forward.target.endswith("MoEFeedForward")


def test_print_config_and_bad_override_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "smoke", "pretrain.optim.lr=0.002", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "lr: 0.002" in out and "warmup_steps: 12" in out and "train_per_family: 40" in out
    assert main(["run", "smoke", "pretrain.optim.no_such_knob=1", "--print-config"]) == 2
    assert "no_such_knob" in capsys.readouterr().err


def test_pretrain_stage_builds_the_typed_run_config_it_is_handed(tmp_path: Path) -> None:
    """The stage receives the stack's typed config (no dict round trip), builds from a copy of it, and
    the manifest records it as plain data."""
    from olmo_stack.pipeline.run import build_stages
    from olmo_stack.pipeline.train import stage_pretrain
    from olmo_stack.stages import StageContext, config_record

    cfg = load_stack_config("smoke", ["pretrain.optim.lr=0.002"])
    (stage,) = [s for s in build_stages(cfg) if s.name == "pretrain"]
    assert stage.config.run is cfg.pretrain
    record = json.loads(json.dumps(config_record(stage.config), default=str))
    assert record["run"]["optim"]["lr"] == 0.002 and record["moe"] is False
    built: list[RunConfig] = []

    class Stop(Exception):
        pass

    def capture(self: RunConfig, **_: object) -> None:
        built.append(self)
        raise Stop

    upstream = {"tokens": {"outputs": {"tokens": str(tmp_path / "tok"), "heldout": str(tmp_path / "held")}}}
    with mock.patch.object(RunConfig, "build", capture), mock.patch("olmo_eval.inloop.InLoopEvaluator"), \
            pytest.raises(Stop):
        stage_pretrain(StageContext("pretrain", tmp_path / "pretrain", stage.config, upstream))
    assert cfg.pretrain.data.paths != [str(tmp_path / "tok")], "the stage changed the stack's own config"
    expected = cfg.pretrain.run_config()
    expected.data.paths, expected.trainer.run_dir = [str(tmp_path / "tok")], str(tmp_path / "pretrain")
    assert built[0].to_dict() == expected.to_dict()
    assert isinstance(cfg.pretrain, PretrainConfig) and built[0].optim.lr == 0.002


def test_a_written_config_loads_back_unchanged(tmp_path: Path) -> None:
    assert main(["launch", "smoke", "--out", str(tmp_path)]) == 0  # writes the resolved stack.yaml
    again, smoke = load_stack_config(str(tmp_path / "stack.yaml")), load_stack_config("smoke")
    assert json.dumps(dataclasses.asdict(again), default=str) == json.dumps(dataclasses.asdict(smoke), default=str)
