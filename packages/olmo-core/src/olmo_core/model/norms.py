"""LayerNorm (OLMo-1: no affine parameters by default) and RMSNorm (OLMo-2), both computed in
float32 whatever the input dtype, as the released models were."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class _Norm(nn.Module):
    """Shared state of both norms: the size, eps and an optional weight (never a bias)."""

    def __init__(self, size: int, eps: float, affine: bool) -> None:
        super().__init__()
        self.size = size
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size)) if affine else None

    def reset_parameters(self) -> None:
        if self.weight is not None:
            nn.init.ones_(self.weight)


class LayerNorm(_Norm):
    def __init__(self, size: int, *, eps: float = 1e-5, affine: bool = False) -> None:
        # OLMo-1 has no bias anywhere, so an affine LayerNorm gets a weight only.
        super().__init__(size, eps, affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weight = None if self.weight is None else self.weight.float()
        return F.layer_norm(x.float(), (self.size,), weight, None, self.eps).to(x.dtype)


class RMSNorm(_Norm):
    def __init__(self, size: int, *, eps: float = 1e-6, affine: bool = True) -> None:
        super().__init__(size, eps, affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.float()
        h = h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.eps)
        if self.weight is not None:
            h = self.weight.float() * h
        return h.to(x.dtype)


def build_norm(kind: str, size: int, *, eps: float, affine: bool) -> nn.Module:
    if kind == "layernorm":
        return LayerNorm(size, eps=eps, affine=affine)
    if kind == "rmsnorm":
        return RMSNorm(size, eps=eps, affine=affine)
    raise ValueError(f"model.norm={kind!r}: must be 'layernorm' or 'rmsnorm'")
