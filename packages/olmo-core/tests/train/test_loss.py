"""Loss normalization: by the target tokens of the whole global batch, so micro-batching does not
change the loss or the gradient; z-loss and auxiliary losses against closed forms."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from trainer_testlib import capture_grads, make_trainer, small_model

from olmo_core.train.loss import IGNORE_INDEX, LossOutput, cross_entropy_sum


def _batch(seed: int = 0) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(2, 99, (4, 12), generator=g)
    labels = torch.randint(2, 99, (4, 12), generator=g)
    # Ragged targets: a mean of micro-batch means would weight these rows wrongly.
    labels[0, :10] = IGNORE_INDEX
    labels[2, 3:] = IGNORE_INDEX
    return {"input_ids": ids, "labels": labels}


def test_cross_entropy_and_z_loss_sums_match_closed_forms() -> None:
    logits = torch.randn(2, 5, 7)
    labels = torch.tensor([[1, 2, -100, 3, 4], [0, -100, -100, 6, 5]])
    ce, z = cross_entropy_sum(logits, labels, z_loss_multiplier=1e-2)
    n = int((labels != -100).sum())
    ref = F.cross_entropy(logits.reshape(-1, 7), labels.reshape(-1), ignore_index=-100, reduction="mean") * n
    torch.testing.assert_close(ce, ref)
    lse = torch.log(torch.exp(logits).sum(-1))[labels != -100]
    torch.testing.assert_close(z, 1e-2 * (lse**2).sum())


def test_accumulation_gives_the_full_batch_loss_and_gradient(tmp_path: Path) -> None:
    batch = _batch()
    reference = small_model()
    logits = reference(batch["input_ids"])
    # Independent reference: one mean over every target of the global batch.
    ref_loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), batch["labels"].reshape(-1), ignore_index=-100)
    ref_loss.backward()
    ref_grads = {n: p.grad.clone() for n, p in reference.named_parameters()}

    for micro in (4, 2, 1):
        model = small_model()
        mbs = [{k: v[i:i + micro] for k, v in batch.items()} for i in range(0, 4, micro)]
        trainer = make_trainer(model, [mbs], tmp_path / str(micro))
        grads = capture_grads(trainer, model)
        metrics = trainer.train_step(mbs)
        assert abs(metrics["train/loss"] - float(ref_loss.detach())) < 1e-5, micro
        assert metrics["train/num_target_tokens"] == int((batch["labels"] != -100).sum())
        for n, g in ref_grads.items():
            torch.testing.assert_close(grads[n], g, rtol=1e-4, atol=1e-6)


class AuxModel(torch.nn.Module):
    """Reports an auxiliary loss per forward, as an MoE layer does through the model."""

    def __init__(self) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
        self._aux: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._aux.append(0.5 * (self.w**2).sum())
        return x.float() * self.w[0]

    def pop_auxiliary_losses(self) -> dict[str, torch.Tensor]:
        out = {"balance": torch.stack(self._aux).sum()} if self._aux else {}
        self._aux = []
        return out


class SumLoss:
    def num_targets(self, mb: dict) -> int:
        return int(mb["x"].numel())

    def __call__(self, model: torch.nn.Module, mb: dict) -> LossOutput:
        return LossOutput(model(mb["x"]).sum(), mb["x"].numel(), {})


def test_auxiliary_losses_are_added_as_a_target_weighted_mean(tmp_path: Path) -> None:
    model = AuxModel()
    mbs = [{"x": torch.tensor([1.0, 3.0])}, {"x": torch.tensor([2.0])}]
    trainer = make_trainer(model, [mbs], tmp_path, loss_fn=SumLoss(), digest_batches=False)
    grads = capture_grads(trainer, model)
    metrics = trainer.train_step(mbs)
    # main loss: (1 + 3 + 2) * w0 / 3 targets = 2.0; aux 0.5 * (1 + 4) = 2.5 in every micro-batch
    assert abs(metrics["train/loss"] - 2.0) < 1e-9
    assert abs(metrics["train/aux/balance"] - 2.5) < 1e-6
    assert abs(metrics["train/total_loss"] - 4.5) < 1e-6
    # d/dw: main (6/3, 0) + aux w = (1, 2)
    torch.testing.assert_close(grads["w"], torch.tensor([3.0, 2.0]))
