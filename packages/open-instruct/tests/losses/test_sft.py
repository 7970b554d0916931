"""The SFT loss sum against a hand computation."""

from __future__ import annotations

import math

import torch

from open_instruct.losses.sft import sft_loss_sum


def test_sum_and_count() -> None:
    logps = torch.log(torch.tensor([0.5, 0.25, 0.125]))
    total, n = sft_loss_sum(logps)
    assert n == 3 and math.isclose(float(total), math.log(2) + math.log(4) + math.log(8), rel_tol=1e-6)
