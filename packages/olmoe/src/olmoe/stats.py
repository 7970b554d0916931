"""Detached routing statistics a MoE layer accumulates between reads: the raw material of its logged
metrics and of the routing-metrics callback. Sums only, so that ranks and steps add up exactly.

:class:`GlobalBatchCounts` is where the layer meets data parallelism: the tokens per expert of the
whole global batch so far, for ``aux_loss_scope="global_batch"``."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class RoutingStats:
    num_experts: int
    counts: torch.Tensor | None = None  #: [E] assignments per expert (int64), before any capacity drop
    tokens: torch.Tensor | None = None  #: tokens routed
    dropped: torch.Tensor | None = None  #: assignments dropped by the capacity limit
    entropy_sum: torch.Tensor | None = None  #: sum over tokens of the router entropy (nats)
    lb_sum: torch.Tensor | None = None  #: sum over forwards of the unweighted load-balancing loss
    z_sum: torch.Tensor | None = None  #: sum over forwards of the unweighted router z-loss
    forwards: int = 0

    def add(self, *, counts: torch.Tensor, tokens: int, dropped: torch.Tensor, entropy_sum: torch.Tensor,
            lb: torch.Tensor, z: torch.Tensor) -> None:
        def acc(old: torch.Tensor | None, new: torch.Tensor) -> torch.Tensor:
            new = new.detach()
            return new.clone() if old is None else old + new

        self.counts = acc(self.counts, counts)
        self.tokens = acc(self.tokens, torch.tensor(tokens, device=counts.device))
        self.dropped = acc(self.dropped, dropped.to(torch.int64))
        self.entropy_sum = acc(self.entropy_sum, entropy_sum.float())
        self.lb_sum = acc(self.lb_sum, lb.float())
        self.z_sum = acc(self.z_sum, z.float())
        self.forwards += 1

    def empty(self) -> bool:
        return self.forwards == 0


class GlobalBatchCounts:
    """Tokens per expert over the global batch so far (Megatron's global load-balancing tracker): each
    forward's counts summed over every data-parallel rank, accumulated over the step's micro-batches
    until :meth:`reset` (the routing-metrics callback calls it after every optimizer step)."""

    def __init__(self) -> None:
        self.counts: torch.Tensor | None = None

    def add(self, counts: torch.Tensor) -> torch.Tensor:
        """Add this forward's ``counts [E]`` (summed over ranks) and return the running total."""
        from olmo_core.distributed.utils import all_reduce_sum

        counts = all_reduce_sum(counts.clone())
        self.counts = counts if self.counts is None else self.counts + counts
        return self.counts

    def reset(self) -> None:
        self.counts = None
