"""The MoE layer's options as a typed dataclass: the one place their defaults and checks live
(:class:`olmoe.moe.MoEFeedForward` takes one; hydra structured config ``olmoe/moe``, stored by
:mod:`olmoe.plugins`).

olmo-core's ``ModelConfig.feed_forward`` carries ``target`` and a plain ``options`` dict (olmo-core
must not know our fields); :meth:`MoEOptions.feed_forward` builds that pair from typed, validated
fields, and :meth:`MoEOptions.from_options` reads it back, refusing unknown names."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from olmo_core.model.config import ConfigError, FeedForwardConfig

#: the name olmoe's plug-in registers the layer under in olmo-core's feed-forward registry (it keeps
#: the form of the dotted path configs used to name, so checkpoints written before still build; olmo-core
#: imports nothing by it)
MOE_TARGET = "olmoe.moe:MoEFeedForward"


@dataclass
class MoEOptions:
    """Options of :class:`olmoe.moe.MoEFeedForward` (besides ``d_model``); the defaults are
    OLMoE-1B-7B's.

    ``num_experts`` (E), ``top_k`` (k), ``hidden_size`` (H, per expert), ``renormalize`` (top-k
    weights sum to 1; OLMoE does not), ``capacity_factor`` (None: dropless; else each expert keeps at
    most ``ceil(cf * N * k / E)`` assignments), ``shared_expert_hidden_size`` (0: none; else an
    always-on dense SwiGLU expert), ``lb_loss_weight`` and ``z_loss_weight`` (OLMoE's),
    ``hf_compatible_lb`` (``k * L_LB``, as transformers), ``aux_loss_scope`` (``"micro_batch"``: f_i
    from this forward's tokens; ``"global_batch"``: from every data-parallel rank and micro-batch of
    the step so far), ``num_layers`` (the loss weights are divided by it, so the model's sum over
    layers is the mean), ``grouped_mm`` (None: automatic; False: the exact per-expert loop)."""

    num_experts: int = 64
    top_k: int = 8
    hidden_size: int = 1024
    renormalize: bool = False
    capacity_factor: float | None = None
    shared_expert_hidden_size: int = 0
    lb_loss_weight: float = 0.01
    z_loss_weight: float = 0.001
    hf_compatible_lb: bool = False
    aux_loss_scope: str = "micro_batch"
    num_layers: int = 1
    grouped_mm: bool | None = None

    def validate(self) -> MoEOptions:
        def bad(name: str, why: str) -> ConfigError:
            return ConfigError(f"model.feed_forward.options.{name}={getattr(self, name)!r}: {why}")

        for name in ("num_experts", "top_k", "hidden_size", "num_layers"):
            if int(getattr(self, name)) <= 0:
                raise bad(name, "must be positive")
        if self.top_k > self.num_experts:
            raise bad("top_k", f"must be <= num_experts={self.num_experts}")
        if self.aux_loss_scope not in ("micro_batch", "global_batch"):
            raise bad("aux_loss_scope", "must be 'micro_batch' or 'global_batch'")
        if self.capacity_factor is not None and self.capacity_factor <= 0:
            raise bad("capacity_factor", "must be positive or null (dropless)")
        if self.shared_expert_hidden_size < 0:
            raise bad("shared_expert_hidden_size", "must be >= 0 (0: no shared expert)")
        return self

    def to_options(self) -> dict[str, Any]:
        return dataclasses.asdict(self.validate())

    def feed_forward(self) -> FeedForwardConfig:
        return FeedForwardConfig(target=MOE_TARGET, options=self.to_options())

    @classmethod
    def from_options(cls, options: dict[str, Any]) -> MoEOptions:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"model.feed_forward.options: unknown field(s) {unknown}; known: {sorted(known)}")
        return cls(**options).validate()
