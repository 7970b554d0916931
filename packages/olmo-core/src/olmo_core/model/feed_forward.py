"""The feed-forward slot of a block: the dense SwiGLU MLP and the registry of named builders through
which any module meeting :class:`olmo_core.interfaces.FeedForward` (olmoe's MoE layer, registered by
its plug-in) replaces it without olmo-core importing its package. A config names a builder, never a
module path: a config read from a checkpoint cannot make olmo-core import arbitrary code.

Initialization: a feed-forward may define ``init_weights(*, std_in, std_out, generator)``; the model
calls it with the stds of its init scheme (see :mod:`olmo_core.model.init`). Without it, the model
calls ``reset_parameters()`` (the layer's own, or else its submodules'); parameters nothing resets
keep their constructor values, so a layer meant for meta-device builds should define one of the two.

Parameter counting: ``num_active_params()`` (optional) lets a sparse layer report the parameters one
token actually uses, for ``OLMo.num_params(active_only=True)`` and FLOPs."""

from __future__ import annotations

from collections.abc import Callable

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


def build_feed_forward(config: ModelConfig, ff: FeedForwardConfig | None = None) -> nn.Module:
    """The registered builder ``ff.target`` called as ``builder(config, **ff.options)``; a name no one
    registered loads the installed plug-ins once (olmoe registers its MoE layer), then is an error."""
    from olmo_core.plugins import lookup

    ff = config.feed_forward if ff is None else ff
    options = dict(ff.options or {})
    try:
        builder = lookup(FEED_FORWARDS, ff.target)
    except KeyError:
        raise ConfigError(f"model.feed_forward.target={ff.target!r}: not a registered feed-forward "
                          f"({sorted(FEED_FORWARDS)}); a plug-in registers one with "
                          "@register_feed_forward(name)") from None
    try:
        return builder(config, **options)
    except TypeError as e:
        raise ConfigError(f"model.feed_forward: cannot build {ff.target!r} with options {options} ({e})") from e
