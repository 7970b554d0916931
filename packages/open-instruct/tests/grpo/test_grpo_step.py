"""One gradient step on the GRPO loss moves the policy the way the advantages say: the completions with
a positive advantage become more likely, those with a negative one less likely (every loss type)."""

from __future__ import annotations

import copy

import pytest
import torch

from open_instruct.grpo.logprobs import completion_logprobs
from open_instruct.grpo.objective import GRPOLoss
from open_instruct.grpo.rollouts import collate


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "dr_grpo"])
def test_a_step_follows_the_advantages(loss_type, tiny_model, tokenizer) -> None:
    g = torch.Generator().manual_seed(3)
    prompt = torch.randint(2, 1000, (6,), generator=g).tolist()
    completions = [torch.randint(2, 1000, (4,), generator=g).tolist() for _ in range(4)]
    mb = collate([prompt] * 4, completions, [True] * 4, [1.0, -1.0, 1.0, -1.0], eos_token_id=tokenizer.eos_token_id,
                 pad_token_id=tokenizer.pad_token_id)
    model = copy.deepcopy(tiny_model)
    loss_fn = GRPOLoss(beta=0.0, loss_type=loss_type, max_completion_length=8)
    with torch.no_grad():
        before = completion_logprobs(model, mb).sum(-1)
    out = loss_fn(model, mb)
    (out.loss_sum / loss_fn.num_targets(mb)).backward()
    with torch.no_grad():
        for p in model.parameters():
            p -= 0.01 * p.grad
        change = completion_logprobs(model, mb).sum(-1) - before
    assert bool((change[[0, 2]] > 0).all()) and bool((change[[1, 3]] < 0).all()), change.tolist()
