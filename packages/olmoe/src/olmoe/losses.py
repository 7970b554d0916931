"""The OLMoE auxiliary losses and routing statistics, as pure functions.

One convention throughout, for a layer with ``E`` experts, top-``k`` routing and ``N`` tokens:

- ``z [N, E]``: router logits; ``p = softmax(z)`` in float32 over *all* experts;
- ``c_i``: how many of the ``N * k`` (token, slot) assignments chose expert ``i``;
- ``f_i = c_i / (N * k)``: the fraction of assignments going to expert ``i`` (sums to 1);
- ``P_i = (1 / N) * sum_t p_{t,i}``: the mean router probability of expert ``i`` (sums to 1).

Load balancing (Switch Transformer, as OLMoE states it): ``L_LB = E * sum_i f_i * P_i``. Under
uniform routing (``f_i = P_i = 1/E``) it is exactly 1, the floor we report against. HF transformers
counts ``c_i / N`` instead of ``f_i`` (the fractions sum to ``k``), so its value is ``k * L_LB`` with
floor ``k``; ``hf_compatible=True`` returns that.

Router z-loss (ST-MoE): ``L_Z = (1 / N) * sum_t (logsumexp_i z_{t,i})^2``, via ``torch.logsumexp`` in
float32 so large logits do not overflow.

OLMoE weighted them 0.01 for ``L_LB`` and 0.001 for ``L_Z``: the defaults of
:class:`olmoe.config.MoEOptions`, the one place the layer's options are set.
"""

from __future__ import annotations

import torch


def expert_counts(expert_indices: torch.Tensor, num_experts: int) -> torch.Tensor:
    """``c_i``: assignments per expert from top-k indices of any shape (int64 ``[E]``).

    A scatter-add rather than ``bincount`` so that CUDA does not synchronize to size the output."""
    flat = expert_indices.reshape(-1)
    return torch.zeros(num_experts, dtype=torch.int64, device=flat.device).scatter_add_(
        0, flat, torch.ones_like(flat))


def load_balancing_loss(router_probs: torch.Tensor, counts: torch.Tensor, top_k: int, *,
                        hf_compatible: bool = False) -> torch.Tensor:
    """``L_LB = E * sum_i f_i * P_i`` with ``f_i = c_i / sum_j c_j`` and ``P_i = mean_t p_{t,i}``.

    ``router_probs [N, E]`` (differentiable; the gradient flows only through ``P``), ``counts [E]``
    (``c_i``; may come from more tokens than ``router_probs``, e.g. the whole global batch, in which
    case ``sum_j c_j = N_global * k``). Floor 1 under uniform routing; with ``hf_compatible`` the
    value is multiplied by ``top_k`` (HF's ``f_i = c_i / N``, floor ``k``)."""
    num_experts = router_probs.shape[-1]
    probs = router_probs.reshape(-1, num_experts).float()
    counts = counts.detach().to(torch.float32)
    f = counts / counts.sum().clamp_min(1.0)
    p_mean = probs.mean(dim=0)
    loss = num_experts * (f * p_mean).sum()
    return loss * top_k if hf_compatible else loss


def router_z_loss(router_logits: torch.Tensor) -> torch.Tensor:
    """``L_Z = mean_t (logsumexp_i z_{t,i})^2`` in float32 over ``router_logits [..., E]``."""
    lse = torch.logsumexp(router_logits.float(), dim=-1)
    return lse.square().mean()


def router_entropy(router_probs: torch.Tensor) -> torch.Tensor:
    """Mean over tokens of ``-sum_i p_i log p_i`` (nats); ``log E`` for a uniform router, 0 for a
    one-hot one. Zero probabilities contribute 0."""
    p = router_probs.float()
    return -(p * torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))).sum(-1).mean()


def load_imbalance(counts: torch.Tensor) -> torch.Tensor:
    """``max_i c_i / mean_i c_i``: 1 when balanced, ``E`` when one expert takes everything."""
    counts = counts.float()
    return counts.max() / counts.mean().clamp_min(torch.finfo(torch.float32).tiny)


def dead_experts(counts: torch.Tensor) -> torch.Tensor:
    """How many experts received no assignment."""
    return (counts == 0).sum()
