"""The in-loop evaluator as a callback of olmo-core's real Trainer: it evaluates every N steps during
training, its metrics reach the trainer's step metrics, and they equal an offline run on the model the
training ended with."""

from __future__ import annotations

import dataclasses
import gzip
import json

import pytest
import torch

from olmo_eval.inloop import InLoopEvaluator
from olmo_eval.runner import run


def test_evaluator_in_olmo_core_trainer(tokenizer, tmp_path) -> None:
    from olmo_core.interfaces import Callback
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo
    from olmo_core.optim.adamw import OptimConfig
    from olmo_core.optim.scheduler import SchedulerConfig
    from olmo_core.train.loss import LanguageModelingLoss
    from olmo_core.train.trainer import Trainer, TrainerConfig

    cfg = dataclasses.replace(get_model_preset("tiny"), max_sequence_length=128, d_model=32, n_heads=2,
                              mlp_hidden_size=96)
    model = OLMo(cfg)
    model.init_weights(3)
    g = torch.Generator().manual_seed(0)
    steps = []
    for _ in range(4):
        ids = torch.randint(0, 50000, (2, 33), generator=g)
        steps.append([{"input_ids": ids[:, :-1], "labels": ids[:, 1:]}])

    class Loader:
        def __init__(self) -> None:
            self.pos = 0

        def __iter__(self):
            while self.pos < len(steps):
                self.pos += 1
                yield steps[self.pos - 1]

        def state_dict(self):
            return {"pos": self.pos}

        def load_state_dict(self, state):
            self.pos = state["pos"]

    evaluator = InLoopEvaluator(tokenizer, "arc_easy,winogrande:mc", limit=4, num_shots=1, every_n_steps=2)
    assert isinstance(evaluator, Callback)
    optim_cfg = OptimConfig(lr=1e-2, scheduler=SchedulerConfig(name="constant", warmup_steps=0))
    trainer = Trainer(model=model, optimizer=optim_cfg.build(model), loss_fn=LanguageModelingLoss(),
                      loader=Loader(), cfg=TrainerConfig(run_dir=str(tmp_path / "run"), max_steps=4, callbacks={},
                                                         resume="none"),
                      optim_cfg=optim_cfg, callbacks=[evaluator])
    last = trainer.fit()
    assert [h["step"] for h in evaluator.history] == [2, 4]
    assert "eval/arc_easy/acc_per_char" in last and "eval/winogrande:mc/primary" in last
    assert model.training

    metrics = run(model, tokenizer, "arc_easy,winogrande:mc", tmp_path / "offline", limit=4, num_shots=1,
                  show_progress=False)
    for name in ("arc_easy", "winogrande:mc"):
        with gzip.open(tmp_path / "offline" / "predictions" / f"{name}.jsonl.gz", "rt") as f:
            offline = [json.loads(line) for line in f]
        for row, inloop in zip(offline, evaluator.last_results[name].instances):
            assert row["logprobs"] == pytest.approx(inloop["logprobs"], abs=1e-5)
        assert last[f"eval/{name}/primary"] == pytest.approx(metrics["tasks"][name]["primary"], rel=1e-6)


def test_eval_at_start_only_before_the_first_step(tokenizer) -> None:
    """``eval_at_start`` evaluates the untrained model; a run resumed from a checkpoint between two
    evaluations must not evaluate at its resume step, or its history gains a point an uninterrupted
    run's lacks."""
    from types import SimpleNamespace

    from olmo_core.model.presets import get_model_preset

    torch.manual_seed(0)
    model = get_model_preset("tiny").build()
    model.init_weights(0)
    evaluator = InLoopEvaluator(tokenizer, "copa", limit=2, num_shots=0, every_n_steps=10, eval_at_start=True)
    logged: list[dict] = []
    state = SimpleNamespace(step=0, model=model, is_main_process=True, log=logged.append)
    evaluator.on_train_start(state)
    assert [h["step"] for h in evaluator.history] == [0] and len(logged) == 1
    saved = evaluator.state_dict()
    resumed = InLoopEvaluator(tokenizer, "copa", limit=2, num_shots=0, every_n_steps=10, eval_at_start=True)
    resumed.load_state_dict(saved)
    resumed.on_train_start(SimpleNamespace(step=5, model=model, is_main_process=True, log=logged.append))
    assert [h["step"] for h in resumed.history] == [0] and len(logged) == 1
    resumed.on_step_end(SimpleNamespace(step=10, model=model, is_main_process=True, log=logged.append), {})
    assert [h["step"] for h in resumed.history] == [0, 10] and len(logged) == 2
