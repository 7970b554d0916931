"""Converters between olmo-core checkpoints and HF transformers architectures, one per HF
``model_type``, registered by decorator. olmo-core registers ``olmo`` (OLMo-1, ``OlmoForCausalLM``)
and ``olmo2`` (``Olmo2ForCausalLM``); olmoe registers its MoE layout (``olmoe``) the same way,
keyed by what its feed-forward ``target`` is, without olmo-core importing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from olmo_core.model.config import ModelConfig

State = dict[str, torch.Tensor]


class HFConverter:
    """Subclass and register with :func:`register_hf_converter`.

    ``accepts`` returns ``None`` when this converter can express ``cfg`` in HF, else the reason it
    cannot (shown to the user when no converter accepts)."""

    model_type: str = ""
    architecture: str = ""

    def accepts(self, cfg: ModelConfig) -> str | None:
        raise NotImplementedError

    def hf_config(self, cfg: ModelConfig) -> dict[str, Any]:
        """Keyword arguments of the transformers config class for ``model_type``."""
        raise NotImplementedError

    def to_hf_state(self, cfg: ModelConfig, state: State) -> State:
        raise NotImplementedError

    def from_hf_config(self, hf: dict[str, Any], *, vocab_size: int | None = None) -> ModelConfig:
        raise NotImplementedError

    def from_hf_state(self, cfg: ModelConfig, hf_state: State) -> State:
        raise NotImplementedError


HF_CONVERTERS: dict[str, HFConverter] = {}


def register_hf_converter(model_type: str) -> Callable[[type[HFConverter]], type[HFConverter]]:
    def deco(cls: type[HFConverter]) -> type[HFConverter]:
        if model_type in HF_CONVERTERS:
            raise ValueError(f"an HF converter for model_type {model_type!r} is already registered")
        inst = cls()
        inst.model_type = model_type
        HF_CONVERTERS[model_type] = inst
        return cls

    return deco


def converter_for_config(cfg: ModelConfig) -> HFConverter:
    from olmo_core.plugins import load_plugins

    for attempt in range(2):
        reasons = []
        for model_type, conv in HF_CONVERTERS.items():
            why = conv.accepts(cfg)
            if why is None:
                return conv
            reasons.append(f"{model_type}: {why}")
        if attempt == 0:
            load_plugins()  # none accepts: the installed plug-ins' converters (olmoe) may
    raise ValueError("no HF converter accepts this model config (" + "; ".join(reasons) + ")")


def converter_for_model_type(model_type: str, source: str = "config.json") -> HFConverter:
    from olmo_core.plugins import lookup

    try:
        return lookup(HF_CONVERTERS, model_type)
    except KeyError:
        raise ValueError(f"{source}: model_type {model_type!r} has no converter; known: "
                         f"{sorted(HF_CONVERTERS)}") from None
