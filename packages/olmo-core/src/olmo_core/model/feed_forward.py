"""The feed-forward slot of a block: the dense SwiGLU MLP, a registry of named builders, and the
dotted-path builder through which any class meeting :class:`olmo_core.interfaces.FeedForward`
(olmoe's MoE layer, a test's own module) replaces it without olmo-core importing its package.

Initialization: a feed-forward may define ``init_weights(*, std_in, std_out, generator)``; the model
calls it with the stds of its init scheme (see :mod:`olmo_core.model.init`). Without it, the model
calls ``reset_parameters()`` (the layer's own, or else its submodules'); parameters nothing resets
keep their constructor values, so a layer meant for meta-device builds should define one of the two.

Parameter counting: ``num_active_params()`` (optional) lets a sparse layer report the parameters one
token actually uses, for ``OLMo.num_params(active_only=True)`` and FLOPs."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from olmo_core.model.config import ConfigError, FeedForwardConfig, ModelConfig

#: registry name -> builder(config, **options) -> module
FEED_FORWARDS: dict[str, Callable[..., nn.Module]] = {}


def register_feed_forward(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    def deco(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        if name in FEED_FORWARDS:
            raise ValueError(f"feed-forward {name!r} is already registered")
        FEED_FORWARDS[name] = fn
        return fn

    return deco


class SwiGLU(nn.Module):
    """``w2(silu(w1 x) * w3 x)``: w1 is the gate, w3 the up projection, w2 the down projection
    (HF's gate_proj, up_proj, down_proj). No biases, as in OLMo."""

    def __init__(self, d_model: int, hidden_size: int) -> None:
        super().__init__()
        self.d_model = d_model
        self.hidden_size = hidden_size
        self.w1 = nn.Linear(d_model, hidden_size, bias=False)
        self.w3 = nn.Linear(d_model, hidden_size, bias=False)
        self.w2 = nn.Linear(hidden_size, d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))

    def init_weights(self, *, std_in: float, std_out: float, generator: torch.Generator | None = None) -> None:
        from olmo_core.model.init import trunc_normal_

        trunc_normal_(self.w1.weight, std_in, generator)
        trunc_normal_(self.w3.weight, std_in, generator)
        trunc_normal_(self.w2.weight, std_out, generator)


@register_feed_forward("swiglu")
def _build_swiglu(config: ModelConfig, hidden_size: int | None = None) -> nn.Module:
    return SwiGLU(config.d_model, config.mlp_hidden_size if hidden_size is None else int(hidden_size))


def import_target(target: str) -> Any:
    """``"package.module:Attr"`` (or ``"package.module.Attr"``) -> the attribute, with errors that name
    the config field."""
    module_name, sep, attr = target.partition(":")
    if not sep:
        module_name, _, attr = target.rpartition(".")
    if not module_name or not attr:
        raise ConfigError(f"model.feed_forward.target={target!r}: not a registered name "
                          f"({sorted(FEED_FORWARDS)}) nor 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        raise ConfigError(f"model.feed_forward.target={target!r}: cannot import {module_name!r} ({e})") from e
    try:
        return getattr(module, attr)
    except AttributeError as e:
        raise ConfigError(f"model.feed_forward.target={target!r}: {module_name!r} has no {attr!r}") from e


def build_feed_forward(config: ModelConfig, ff: FeedForwardConfig | None = None) -> nn.Module:
    """A registry name gets ``builder(config, **options)``; a dotted class gets
    ``Class(d_model=config.d_model, **options)`` (the FeedForward contract)."""
    ff = config.feed_forward if ff is None else ff
    options = dict(ff.options or {})
    if ff.target in FEED_FORWARDS:
        return FEED_FORWARDS[ff.target](config, **options)
    cls = import_target(ff.target)
    try:
        return cls(d_model=config.d_model, **options)
    except TypeError as e:
        raise ConfigError(f"model.feed_forward: cannot build {ff.target!r} with d_model={config.d_model} and "
                          f"options {options} ({e})") from e
