"""The SFT loss."""

from __future__ import annotations

import torch


def sft_loss_sum(target_logps: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Summed negative log-likelihood of a micro-batch's target tokens and their number.

    The training loss is

        L = (1 / N) * sum_{target tokens t in the global batch} -log p(x_t | x_<t)

    with N the number of target tokens in the whole global batch (all micro-batches, all ranks).
    Returning the *sum* and the count lets the trainer divide once by the global N, so splitting a
    batch into micro-batches or ranks does not change the loss or its gradient (averaging per
    micro-batch would weight short and long micro-batches differently)."""
    return -target_logps.sum(), int(target_logps.numel())
