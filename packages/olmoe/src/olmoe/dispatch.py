"""Dropless token-choice dispatch: sort the (token, slot) assignments by expert, run all experts as
grouped matrix multiplies, and scatter the weighted outputs back in float32.

``torch._grouped_mm(x [S, K], w [E, K, N], offs)`` multiplies rows ``offs[e-1]:offs[e]`` of ``x`` by
``w[e]``. It has CPU kernels from torch 2.9 (fp32/bf16/fp16, row strides a multiple of 16 bytes, int32
offsets) and CUDA kernels on SM80+ (bf16). Where it cannot run we fall back to an exact per-expert loop
over ``split``/``unbind`` views, whose backward is one ``cat``/``stack`` rather than a full-size zero
tensor per expert (which indexing ``w[e]`` would give)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

_GROUPED_MM_DTYPES_CPU = (torch.float32, torch.bfloat16, torch.float16)


def _aligned(t: torch.Tensor) -> bool:
    """Every stride but the unit one must be a multiple of 16 bytes."""
    size = t.element_size()
    return all(s * size % 16 == 0 for s, n in zip(t.stride(), t.shape) if s != 1 and n > 1)


def grouped_mm_supported(x: torch.Tensor, w: torch.Tensor) -> bool:
    """Whether ``torch._grouped_mm(x, w, offs)`` runs here for these operands (else: the loop)."""
    if not hasattr(torch, "_grouped_mm") or x.dtype != w.dtype or x.device != w.device:
        return False
    if x.device.type == "cpu":
        ok_dtype = x.dtype in _GROUPED_MM_DTYPES_CPU
    elif x.device.type == "cuda":
        ok_dtype = x.dtype == torch.bfloat16 and torch.cuda.get_device_capability(x.device) >= (8, 0)
    else:
        return False
    # The backward multiplies by the transposes, so both layouts must be aligned too.
    return ok_dtype and _aligned(x) and _aligned(w) and x.shape[-1] * x.element_size() % 16 == 0 \
        and w.shape[-1] * w.element_size() % 16 == 0 and w.shape[-2] * w.element_size() % 16 == 0


class _ContiguousGrad(torch.autograd.Function):
    """Identity whose backward makes the incoming gradient contiguous: ``_grouped_mm``'s backward
    refuses broadcast (stride-0) gradients such as the one ``sum()`` produces."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad.contiguous()


def grouped_mm(x: torch.Tensor, w: torch.Tensor, offsets: torch.Tensor, counts: torch.Tensor, *,
               use_grouped_mm: bool | None = None) -> torch.Tensor:
    """``x [S, K]`` sorted by group, ``w [G, K, N]``, ``offsets [G]`` (int32 cumulative ends),
    ``counts [G]`` -> ``[S, N]`` where rows of group ``g`` are multiplied by ``w[g]``.

    ``use_grouped_mm=None`` picks ``torch._grouped_mm`` when :func:`grouped_mm_supported`; ``False``
    forces the exact loop (the reference path); ``True`` insists (errors if unsupported)."""
    if use_grouped_mm is None:
        use_grouped_mm = grouped_mm_supported(x, w)
    if use_grouped_mm:
        return _ContiguousGrad.apply(torch._grouped_mm(x, w, offs=offsets))
    parts = [xi @ wi for xi, wi in zip(x.split(counts.tolist()), w.unbind(0))]
    return torch.cat(parts) if parts else x.new_zeros(0, w.shape[-1])


@dataclass
class SortedAssignments:
    """The ``S = N * k`` (token, slot) assignments ordered by expert (ties keep token order)."""

    order: torch.Tensor  #: [S] positions into the flattened ``[N, k]`` assignment arrays
    token: torch.Tensor  #: [S] token row of each sorted assignment
    expert: torch.Tensor  #: [S] expert of each sorted assignment (non-decreasing)
    counts: torch.Tensor  #: [E] assignments per expert (int64)
    offsets: torch.Tensor  #: [E] cumulative ends (int32), as ``_grouped_mm`` wants


def sort_assignments(expert_indices: torch.Tensor, num_experts: int) -> SortedAssignments:
    """Group the flattened ``expert_indices [N, k]`` by expert with a stable sort, so a token's
    assignments to one expert stay in token order (what capacity dropping keeps first)."""
    top_k = expert_indices.shape[-1]
    flat = expert_indices.reshape(-1)
    expert, order = torch.sort(flat, stable=True)
    counts = torch.zeros(num_experts, dtype=torch.int64, device=flat.device).scatter_add_(
        0, flat, torch.ones_like(flat))
    offsets = counts.cumsum(0).to(torch.int32)
    return SortedAssignments(order=order, token=order // top_k, expert=expert, counts=counts, offsets=offsets)


def apply_capacity(sa: SortedAssignments, capacity: int) -> tuple[SortedAssignments, torch.Tensor]:
    """Keep at most ``capacity`` assignments per expert, the earliest tokens first (Switch's rule);
    return the kept assignments and how many were dropped."""
    starts = sa.offsets.to(torch.int64) - sa.counts
    rank_in_expert = torch.arange(sa.expert.numel(), device=sa.expert.device) - starts[sa.expert]
    keep = rank_in_expert < capacity
    counts = sa.counts.clamp(max=capacity)
    kept = SortedAssignments(order=sa.order[keep], token=sa.token[keep], expert=sa.expert[keep], counts=counts,
                             offsets=counts.cumsum(0).to(torch.int32))
    return kept, sa.counts.sum() - counts.sum()


def expert_mlp(x_sorted: torch.Tensor, gate_up: torch.Tensor, down: torch.Tensor, sa: SortedAssignments, *,
               use_grouped_mm: bool | None = None) -> torch.Tensor:
    """SwiGLU experts on sorted rows: ``(silu(x W_g) * (x W_u)) W_d`` with ``gate_up [E, D, 2H]``
    (gate columns first) and ``down [E, H, D]``."""
    h = grouped_mm(x_sorted, gate_up, sa.offsets, sa.counts, use_grouped_mm=use_grouped_mm)
    gate, up = h.chunk(2, dim=-1)
    return grouped_mm(F.silu(gate) * up, down, sa.offsets, sa.counts, use_grouped_mm=use_grouped_mm)


def combine(expert_out: torch.Tensor, weights_sorted: torch.Tensor, token: torch.Tensor, num_tokens: int) -> torch.Tensor:
    """``y_t = sum_{assignments a of t} w_a * out_a`` accumulated in float32 (returned in float32)."""
    weighted = expert_out.float() * weights_sorted.float().unsqueeze(-1)
    out = torch.zeros(num_tokens, expert_out.shape[-1], dtype=torch.float32, device=expert_out.device)
    # In place on a fresh buffer: the out-of-place form would copy the zeros once more.
    return out.index_add_(0, token, weighted)
