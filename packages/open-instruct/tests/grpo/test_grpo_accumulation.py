"""Through olmo-core's Trainer, for every loss type: one micro-batch of 8 completions and three uneven
ones (3, 3, 2) give the same loss, metrics and gradient (the sum/count protocol), with a KL term and ratios away from 1."""

from __future__ import annotations

import copy

import pytest
import torch

from olmo_core.checkpoint.manager import CheckpointConfig
from olmo_core.optim.adamw import OptimConfig
from olmo_core.optim.scheduler import SchedulerConfig
from olmo_core.train.trainer import Trainer, TrainerConfig
from open_instruct.grpo.logprobs import completion_logprobs
from open_instruct.grpo.objective import GRPOLoss
from open_instruct.grpo.rollouts import collate


class Fixed:
    """A BatchLoader serving one step's micro-batches."""

    def __init__(self, micro_batches):
        self.micro_batches = micro_batches

    def __iter__(self):
        yield self.micro_batches

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def _rows(model, n: int = 8):
    g = torch.Generator().manual_seed(7)
    prompts = [torch.randint(2, 1000, (int(torch.randint(3, 9, (1,), generator=g)),), generator=g).tolist()
               for _ in range(n)]
    completions = [torch.randint(2, 1000, (int(torch.randint(1, 7, (1,), generator=g)),), generator=g).tolist()
                   for _ in range(n)]
    ended = [i % 3 != 0 for i in range(n)]
    adv = torch.randn(n, generator=g).tolist()
    return prompts, completions, ended, adv


def _micro_batches(model, rows, size: int, tokenizer):
    prompts, completions, ended, adv = rows
    out = []
    for a in range(0, len(prompts), size):
        s = slice(a, a + size)
        mb = collate(prompts[s], completions[s], ended[s], adv[s], eos_token_id=tokenizer.eos_token_id,
                     pad_token_id=tokenizer.pad_token_id)
        with torch.no_grad():
            lp = completion_logprobs(model, mb, 0.7)
        g = torch.Generator().manual_seed(a)
        mb["old_logps"] = lp + 0.4 * torch.randn(lp.shape, generator=g) * mb["labels"][:, 1:]
        mb["ref_logps"] = lp + 0.3 * torch.randn(lp.shape, generator=g) * mb["labels"][:, 1:]
        out.append(mb)
    return out


def one_step(model, loss_fn, loader, run_dir):
    model = copy.deepcopy(model)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    cfg = TrainerConfig(run_dir=str(run_dir), max_steps=1, resume="none", digest_batches=False, callbacks={},
                        checkpoint=CheckpointConfig(save_at_end=False))
    trainer = Trainer(model=model, optimizer=torch.optim.SGD(model.parameters(), lr=1.0), loss_fn=loss_fn,
                      loader=loader, cfg=cfg,
                      optim_cfg=OptimConfig(lr=1.0, scheduler=SchedulerConfig(name="constant", warmup_steps=0),
                                            max_grad_norm=None))
    metrics = trainer.fit()
    return metrics, {k: before[k] - v.detach() for k, v in model.named_parameters()}


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "dr_grpo"])
def test_one_micro_batch_equals_many(loss_type, tiny_model, tokenizer, tmp_path) -> None:
    loss_fn = GRPOLoss(beta=0.04, clip_low=0.2, clip_high=0.28, loss_type=loss_type, max_completion_length=8,
                       temperature=0.7)
    # the same old/ref log-probs whatever the split: computed once on single rows, then re-cut
    singles = _micro_batches(tiny_model, _rows(tiny_model), 1, tokenizer)
    results = []
    for size in (8, 3):  # one micro-batch; three of 3, 3 and 2 completions
        mbs = []
        for a in range(0, 8, size):
            part = singles[a:a + size]
            prompts, completions, ended, adv = _rows(tiny_model)
            s = slice(a, a + size)
            mb = collate(prompts[s], completions[s], ended[s], adv[s], eos_token_id=tokenizer.eos_token_id,
                         pad_token_id=tokenizer.pad_token_id)
            for key in ("old_logps", "ref_logps"):
                flat = torch.cat([p[key][p["labels"][:, 1:]] for p in part])
                mb[key] = torch.zeros(mb["labels"][:, 1:].shape).masked_scatter(mb["labels"][:, 1:], flat)
            mbs.append(mb)
        results.append(one_step(tiny_model, loss_fn, Fixed(mbs), tmp_path / f"run{size}"))
    (m8, g8), *others = results
    assert abs(m8["train/loss"]) > 1e-3 and m8["train/clip_ratio/high"] + m8["train/clip_ratio/low"] > 0
    norm = torch.sqrt(sum((g ** 2).sum() for g in g8.values()))
    assert norm > 0
    for m, g in others:
        for key in ("train/loss", "train/kl", "train/ratio", "train/clip_ratio/low", "train/clip_ratio/high"):
            assert m[key] == pytest.approx(m8[key], rel=1e-5, abs=1e-7), key
        assert m["train/num_target_tokens"] == m8["train/num_target_tokens"]
        for k in g8:
            torch.testing.assert_close(g[k], g8[k], rtol=1e-4, atol=1e-6 * float(norm), msg=k)
