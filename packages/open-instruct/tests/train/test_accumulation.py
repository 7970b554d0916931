"""Through olmo-core's Trainer: batch 8 x accumulation 1 equals batch 1 x accumulation 8."""

from __future__ import annotations

import copy

import pytest
import torch

from olmo_core.optim.adamw import OptimConfig
from olmo_core.optim.scheduler import SchedulerConfig
from olmo_core.train.trainer import Trainer, TrainerConfig
from open_instruct.data.cache import load_tokenized
from open_instruct.ref_cache import reference_logps
from open_instruct.train.batches import PackedBatches
from open_instruct.train.objectives import DPOLoss, SFTLoss


def one_step(model, loss_fn, loader, run_dir) -> tuple[dict, dict[str, torch.Tensor]]:
    """One trainer step with plain SGD at lr 1: the weight change is minus the gradient."""
    model = copy.deepcopy(model)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    cfg = TrainerConfig(run_dir=str(run_dir), max_steps=1, resume="none", digest_batches=False, callbacks={})
    trainer = Trainer(model=model, optimizer=opt, loss_fn=loss_fn, loader=loader, cfg=cfg,
                      optim_cfg=OptimConfig(lr=1.0, scheduler=SchedulerConfig(name="constant", warmup_steps=0),
                                            max_grad_norm=None))
    metrics = trainer.fit()
    return metrics, {k: before[k] - v.detach() for k, v in model.named_parameters()}


@pytest.mark.parametrize("kind", ["sft", "dpo"])
def test_batch8_accum1_equals_batch1_accum8(kind, sft_file, dpo_file, tokenizer, tiny_model, tmp_path) -> None:
    path = sft_file if kind == "sft" else dpo_file
    data, _ = load_tokenized(kind, [f"{path}:16"], tokenizer, max_length=512, cache_dir=tmp_path,
                             log=lambda *_: None)
    ref = reference_logps(tiny_model, data, tmp_path / "ref", max_length=512, log=lambda *_: None) \
        if kind == "dpo" else None
    loss_fn = SFTLoss() if kind == "sft" else DPOLoss("dpo", beta=0.1)
    results = []
    for micro in (8, 1):
        loader = PackedBatches(data, global_batch_size=8, micro_batch_size=micro, max_length=512, seed=1,
                               reference=ref)
        if micro == 8:
            assert len(loader.micro_batches(loader.step_units(0, 0))) == 1
        results.append(one_step(tiny_model, loss_fn, loader, tmp_path / f"run{micro}"))
    (m8, g8), (m1, g1) = results
    assert m8["train/loss"] == pytest.approx(m1["train/loss"], rel=1e-5)
    assert m8["train/num_target_tokens"] == m1["train/num_target_tokens"]
    if kind == "dpo":
        assert m8["train/loss"] == pytest.approx(0.693147, abs=1e-5)  # policy == reference at step 0
        assert m8["train/num_target_tokens"] == 8
    norm = torch.sqrt(sum((g ** 2).sum() for g in g8.values()))
    assert norm > 0
    for k in g8:
        torch.testing.assert_close(g1[k], g8[k], rtol=1e-4, atol=1e-6 * float(norm), msg=k)
