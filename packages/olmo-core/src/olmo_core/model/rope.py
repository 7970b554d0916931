"""Rotary position embeddings, "rotate-half" layout (the one OLMo and HF transformers use): the
first and second halves of each head's features form the rotated pairs."""

from __future__ import annotations

import torch


def rope_cos_sin(position_ids: torch.Tensor, head_dim: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``position_ids [B, T]`` (or ``[T]``) -> ``cos, sin [B, 1, T, head_dim]`` in float32.

    Recomputed each forward rather than cached in a buffer, so a model built on the meta device
    needs no buffer re-initialisation; it costs one tiny outer product per forward."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64, device=position_ids.device)
                                .float() / head_dim))
    if position_ids.dim() == 1:
        position_ids = position_ids[None]
    freqs = position_ids[..., None].float() * inv_freq
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos()[:, None], emb.sin()[:, None]


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """``x [B, H, T, head_dim]``; the rotation is done in float32 and cast back."""
    return (x * cos + rotate_half(x) * sin).to(x.dtype)
