"""Gradient-norm clipping that works for plain tensors, DDP and FSDP2 (DTensor) gradients alike."""

from __future__ import annotations

from collections.abc import Iterable

import torch

from olmo_core.optim.adamw import OptimConfig


def max_norm_at(step: int, cfg: OptimConfig) -> float | None:
    """OLMo-7B clipped at ``clip_warmup_factor`` x the norm for its first ``clip_warmup_steps`` steps."""
    if cfg.max_grad_norm is None:
        return None
    if step < cfg.clip_warmup_steps:
        return cfg.max_grad_norm * cfg.clip_warmup_factor
    return cfg.max_grad_norm


def grad_norm(parameters: Iterable[torch.nn.Parameter]) -> torch.Tensor:
    """Global L2 norm of all gradients (across ranks for sharded parameters), as a plain tensor."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.tensor(0.0)
    norm = torch.nn.utils.get_total_norm(grads, norm_type=2.0, foreach=True)
    return _full(norm)


def _full(t: torch.Tensor) -> torch.Tensor:
    from torch.distributed.tensor import DTensor

    return t.full_tensor() if isinstance(t, DTensor) else t


def clip_grad_norm(parameters: Iterable[torch.nn.Parameter], max_norm: float | None) -> torch.Tensor:
    """Clip in place to ``max_norm`` (None: only measure). Returns the norm before clipping."""
    params = [p for p in parameters if p.grad is not None]
    if not params:
        return torch.tensor(0.0)
    # Kept as a DTensor (if grads are) for the in-place scaling; made a plain tensor for reporting.
    norm = torch.nn.utils.get_total_norm([p.grad for p in params], norm_type=2.0, foreach=True)
    if max_norm is not None:
        torch.nn.utils.clip_grads_with_norm_(params, max_norm, norm, foreach=True)
    return _full(norm)
