"""Non-finite losses and loss spikes are caught before the optimizer step."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from trainer_testlib import make_trainer, small_model

from olmo_core.train.loss import LossOutput
from olmo_core.train.spikes import SpikeConfig, SpikeDetector, TrainingDivergedError


def test_detector_flags_spikes_after_the_window_and_non_finite_values() -> None:
    det = SpikeDetector(SpikeConfig(action="skip", window=5, threshold=3.0))
    for v in (3.0, 3.1, 2.9, 3.05, 2.95):
        assert det.decide(1, v, 1.0) == (True, None)
    take, reason = det.decide(6, 9.0, 1.0)
    assert not take and "spike" in reason
    assert det.decide(7, 3.0, 1.0)[0]
    take, reason = det.decide(8, float("nan"), 1.0)
    assert not take and "non-finite loss" in reason
    assert not det.decide(9, 3.0, float("inf"))[0]
    stop = SpikeDetector(SpikeConfig(action="stop"))
    with pytest.raises(TrainingDivergedError, match="step 4: non-finite loss"):
        stop.decide(4, float("inf"), 1.0)


class NaNLoss:
    def num_targets(self, mb: dict) -> int:
        return int(mb["labels"].numel())

    def __call__(self, model: torch.nn.Module, mb: dict) -> LossOutput:
        logits = model(mb["input_ids"])
        return LossOutput(logits.sum() * float("nan"), mb["labels"].numel(), {})


def test_trainer_skips_a_non_finite_step_without_touching_the_weights(tmp_path: Path) -> None:
    model = small_model()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    ids = torch.randint(2, 99, (2, 8))
    steps = [[{"input_ids": ids, "labels": ids}]]
    trainer = make_trainer(model, steps, tmp_path, loss_fn=NaNLoss())
    metrics = trainer.train_step(steps[0])
    assert metrics["train/skipped_step"] == 1 and "non-finite" in metrics["train/anomaly"]
    for n, p in model.named_parameters():
        assert torch.equal(p, before[n]), n
    trainer = make_trainer(small_model(), steps, tmp_path, loss_fn=NaNLoss(), spike=SpikeConfig(action="stop"))
    with pytest.raises(TrainingDivergedError, match="stopping"):
        trainer.train_step(steps[0])
