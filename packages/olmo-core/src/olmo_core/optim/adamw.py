"""AdamW with OLMo's settings: weight decay on matrices only, never on embeddings, norms or biases."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from olmo_core.optim.scheduler import SchedulerConfig


@dataclass
class OptimConfig:
    """AdamW hyperparameters (OLMo-1B's are the defaults), the learning-rate schedule
    (:class:`SchedulerConfig`, built by the trainer once it knows ``max_steps``) and clipping.

    ``OptimConfig(...).build(model)`` is the optimizer."""

    lr: float = 4e-4
    betas: tuple[float, float] = (0.9, 0.95)
    eps: float = 1e-5
    weight_decay: float = 0.1
    decay_embeddings: bool = False
    fused: bool | None = None
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    max_grad_norm: float | None = 1.0
    clip_warmup_steps: int = 0
    clip_warmup_factor: float = 1.0

    def build(self, model: nn.Module) -> torch.optim.AdamW:
        """AdamW over ``model``'s parameters in OLMo's two groups (:func:`param_groups`), fused where
        the parameters allow it."""
        groups = param_groups(model, self.weight_decay, decay_embeddings=self.decay_embeddings)
        for g in groups:
            g.pop("param_names")
            g["initial_lr"] = self.lr
        kwargs = {}
        if self.fused is not None:
            kwargs["fused"] = self.fused
        elif _fused_ok(groups):
            kwargs["fused"] = True
        else:
            kwargs["foreach"] = True
        return torch.optim.AdamW(groups, lr=self.lr, betas=tuple(self.betas), eps=self.eps, **kwargs)


def _is_norm(module: nn.Module) -> bool:
    # Any normalization layer, ours or torch's, by class: LayerNorm, RMSNorm, GroupNorm, ...
    return isinstance(module, nn.LayerNorm | nn.GroupNorm | nn.RMSNorm) or "norm" in type(module).__name__.lower()


def param_groups(model: nn.Module, weight_decay: float, *, decay_embeddings: bool = False) -> list[dict]:
    """Two groups: ``decay`` (weight matrices) and ``no_decay`` (embeddings, norm weights, biases).

    Tied weights appear once (the first module that owns them decides, and embeddings come first)."""
    decay: list[nn.Parameter] = []
    no_decay: list[nn.Parameter] = []
    decay_names: list[str] = []
    no_decay_names: list[str] = []
    seen: set[int] = set()
    for mname, module in model.named_modules():
        for pname, param in module.named_parameters(recurse=False):
            if not param.requires_grad or id(param) in seen:
                continue
            seen.add(id(param))
            full = f"{mname}.{pname}" if mname else pname
            is_embedding = isinstance(module, nn.Embedding)
            skip = (pname.endswith("bias") or param.ndim < 2 or _is_norm(module)
                    or (is_embedding and not decay_embeddings))
            (no_decay if skip else decay).append(param)
            (no_decay_names if skip else decay_names).append(full)
    groups = [{"params": decay, "weight_decay": weight_decay, "name": "decay", "param_names": decay_names},
              {"params": no_decay, "weight_decay": 0.0, "name": "no_decay", "param_names": no_decay_names}]
    return [g for g in groups if g["params"]]


def _fused_ok(groups: list[dict]) -> bool:
    # The fused kernel handles plain tensors on CPU and CUDA/ROCm; DTensor shards go through foreach.
    from torch.distributed.tensor import DTensor

    params = [p for g in groups for p in g["params"]]
    return bool(params) and all(not isinstance(p, DTensor) and p.device.type in ("cpu", "cuda") for p in params)
