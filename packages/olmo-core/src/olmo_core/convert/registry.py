"""Converters between olmo-core checkpoints and other layouts, registered by decorator.

Two kinds live here side by side: HF transformers architectures, one per HF ``model_type``
(olmo-core registers ``olmo`` (OLMo-1, ``OlmoForCausalLM``) and ``olmo2`` (``Olmo2ForCausalLM``)),
and the original OLMo-core 3.0's ``Transformer`` layouts (olmo-core registers ``transformer``, the
dense OLMo-1/OLMo-2 family). olmoe registers its MoE layout in both (``olmoe``) the same way, keyed
by what its feed-forward ``target`` is, without olmo-core importing it."""

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


# --------------------------------------------------------------------------------------------------
# The original OLMo-core (PyPI ``ai2-olmo-core`` 3.0) layouts


class OlmoCoreConverter:
    """Between our :class:`ModelConfig` / state dict and OLMo-core 3.0's ``TransformerConfig`` (in its
    JSON form, ``TransformerConfig.as_config_dict()``, ``_CLASS_`` keys included) / ``Transformer``
    state dict. Subclass and register with :func:`register_olmo_core_converter`.

    ``accepts`` / ``accepts_peer`` return ``None`` when this converter handles the config, else the
    reason it cannot (shown to the user when no converter accepts)."""

    name: str = ""

    def accepts(self, cfg: ModelConfig) -> str | None:
        raise NotImplementedError

    def accepts_peer(self, peer: dict[str, Any]) -> str | None:
        raise NotImplementedError

    def peer_config(self, cfg: ModelConfig) -> dict[str, Any]:
        raise NotImplementedError

    def to_peer_state(self, cfg: ModelConfig, state: State) -> State:
        raise NotImplementedError

    def from_peer_config(self, peer: dict[str, Any], **ours: Any) -> ModelConfig:
        """``ours``: fields OLMo-core's model config does not hold (``vocab_size``, ``eos_token_id``...)."""
        raise NotImplementedError

    def from_peer_state(self, cfg: ModelConfig, peer_state: State) -> State:
        raise NotImplementedError

    def peer_names(self, cfg: ModelConfig) -> dict[str, str]:
        """Our parameter name -> OLMo-core's, for every parameter whose tensor maps one to one (the
        optimizer state follows the same map); converters whose tensors do not map one to one (a
        reshaped MoE expert) transform the optimizer moments with :meth:`to_peer_state` as well."""
        raise NotImplementedError


OLMO_CORE_CONVERTERS: dict[str, OlmoCoreConverter] = {}


def register_olmo_core_converter(name: str) -> Callable[[type[OlmoCoreConverter]], type[OlmoCoreConverter]]:
    def deco(cls: type[OlmoCoreConverter]) -> type[OlmoCoreConverter]:
        if name in OLMO_CORE_CONVERTERS:
            raise ValueError(f"an OLMo-core converter {name!r} is already registered")
        inst = cls()
        inst.name = name
        OLMO_CORE_CONVERTERS[name] = inst
        return cls

    return deco


def _first_accepting(check: Callable[[OlmoCoreConverter], str | None], what: str) -> OlmoCoreConverter:
    from olmo_core.plugins import load_plugins

    for attempt in range(2):
        reasons = []
        for name, conv in OLMO_CORE_CONVERTERS.items():
            why = check(conv)
            if why is None:
                return conv
            reasons.append(f"{name}: {why}")
        if attempt == 0:
            load_plugins()  # none accepts: the installed plug-ins' converters (olmoe) may
    raise ValueError(f"no OLMo-core converter accepts this {what} (" + "; ".join(reasons) + ")")


def olmo_core_converter_for_config(cfg: ModelConfig) -> OlmoCoreConverter:
    return _first_accepting(lambda c: c.accepts(cfg), "model config")


def olmo_core_converter_for_peer(peer: dict[str, Any]) -> OlmoCoreConverter:
    return _first_accepting(lambda c: c.accepts_peer(peer), "OLMo-core TransformerConfig")
