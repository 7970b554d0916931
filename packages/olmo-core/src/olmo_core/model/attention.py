"""Multi-head (or grouped-query) self-attention with rotary embeddings, through
``torch.nn.functional.scaled_dot_product_attention`` so CUDA/ROCm get flash kernels and the CPU the
math kernel. Masks are built once per forward by :func:`attention_mask` and shared by every block."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from olmo_core.model.config import ModelConfig
from olmo_core.model.kv_cache import KVCache
from olmo_core.model.norms import build_norm
from olmo_core.model.rope import apply_rope, rope_cos_sin


def documents_from_eos(input_ids: torch.Tensor, eos_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(doc_ids, position_ids)`` ``[B, T]`` of packed rows whose documents each end with ``eos_id``
    (the EOS belongs to the document it ends, as OLMo-core's ``get_document_lengths`` counts): the
    token after an EOS starts a new document, whose positions restart at 0."""
    b, t = input_ids.shape
    starts = torch.zeros_like(input_ids, dtype=torch.bool)
    starts[:, 1:] = input_ids[:, :-1] == eos_id
    doc_ids = starts.cumsum(dim=1)
    idx = torch.arange(t, device=input_ids.device).expand(b, t)
    first = torch.where(starts, idx, torch.zeros_like(idx)).cummax(dim=1).values
    return doc_ids, idx - first


def attention_mask(q_len: int, past: int, *, doc_ids: torch.Tensor | None, key_doc_ids: torch.Tensor | None,
                   device: torch.device) -> tuple[torch.Tensor | None, bool]:
    """Return ``(mask, is_causal)`` for queries at positions ``past .. past+q_len-1`` over keys
    ``0 .. past+q_len-1``.

    Without document ids the plain causal case takes SDPA's ``is_causal`` fast path (no mask tensor).
    With them, a query sees only earlier keys of its own document: a boolean ``[B, 1, T, S]`` mask,
    block-diagonal and causal."""
    if doc_ids is None:
        if past == 0:
            return None, True
        if q_len == 1:
            return None, False
    q_pos = torch.arange(past, past + q_len, device=device)
    k_pos = torch.arange(past + q_len, device=device)
    mask = (k_pos[None, :] <= q_pos[:, None])[None, None]
    if doc_ids is not None:
        keys = doc_ids if key_doc_ids is None else key_doc_ids
        mask = mask & (doc_ids[:, None, :, None] == keys[:, None, None, :])
    return mask, False


class Attention(nn.Module):
    def __init__(self, config: ModelConfig, layer_idx: int = 0) -> None:
        super().__init__()
        self.layer_idx = layer_idx
        self.n_heads = config.n_heads
        self.n_kv_heads = config.kv_heads
        self.head_dim = config.head_dim
        self.clip_qkv = config.clip_qkv
        self.rope_theta = config.rope_theta
        d = config.d_model
        self.w_q = nn.Linear(d, self.n_heads * self.head_dim, bias=False)
        self.w_k = nn.Linear(d, self.n_kv_heads * self.head_dim, bias=False)
        self.w_v = nn.Linear(d, self.n_kv_heads * self.head_dim, bias=False)
        self.w_out = nn.Linear(self.n_heads * self.head_dim, d, bias=False)
        if config.qk_norm:
            # OLMo-2 normalizes the whole projection, not each head separately.
            self.q_norm: nn.Module | None = build_norm(config.norm, self.n_heads * self.head_dim,
                                                       eps=config.norm_eps, affine=config.norm_affine)
            self.k_norm: nn.Module | None = build_norm(config.norm, self.n_kv_heads * self.head_dim,
                                                       eps=config.norm_eps, affine=config.norm_affine)
        else:
            self.q_norm = self.k_norm = None

    def forward(self, x: torch.Tensor, position_ids: torch.Tensor, *, mask: torch.Tensor | None = None,
                is_causal: bool = True, kv_cache: KVCache | None = None) -> torch.Tensor:
        """``position_ids`` ([T] or [B, T], integer): the rotary angles are computed here in float32
        rather than passed in, so a mixed-precision wrapper that casts float inputs cannot degrade them."""
        b, t, _ = x.shape
        q, k, v = self.w_q(x), self.w_k(x), self.w_v(x)
        if self.clip_qkv is not None:
            q = q.clamp(-self.clip_qkv, self.clip_qkv)
            k = k.clamp(-self.clip_qkv, self.clip_qkv)
            v = v.clamp(-self.clip_qkv, self.clip_qkv)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = self.q_norm(q), self.k_norm(k)
        q = q.view(b, t, self.n_heads, self.head_dim).transpose(1, 2)
        k = k.view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        v = v.view(b, t, self.n_kv_heads, self.head_dim).transpose(1, 2)
        cos, sin = rope_cos_sin(position_ids, self.head_dim, self.rope_theta)
        q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        if kv_cache is not None:
            k, v = kv_cache.update(self.layer_idx, k, v)
        if self.n_kv_heads != self.n_heads:
            rep = self.n_heads // self.n_kv_heads
            k, v = k.repeat_interleave(rep, dim=1), v.repeat_interleave(rep, dim=1)
        out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=is_causal and mask is None)
        return self.w_out(out.transpose(1, 2).reshape(b, t, self.n_heads * self.head_dim))
