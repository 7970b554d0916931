"""Converters between olmo-core checkpoints and other layouts, registered by decorator.

Two kinds live here side by side: HF transformers architectures, one per HF ``model_type``
(olmo-core registers ``olmo`` (OLMo-1, ``OlmoForCausalLM``) and ``olmo2`` (``Olmo2ForCausalLM``)),
and the original OLMo-core 3.0's ``Transformer`` layouts (olmo-core registers ``transformer``, the
dense OLMo-1/OLMo-2 family). olmoe registers its MoE layout in both (``olmoe``) the same way, keyed
by what its feed-forward ``target`` is, without olmo-core importing it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import torch

from olmo_core.model.config import ModelConfig

State = dict[str, torch.Tensor]
C = TypeVar("C")  # a converter class of either registry


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


def _registrar(registry: dict[str, C], key_attr: str, what: str) -> Callable[[str], Callable[[type[C]], type[C]]]:
    """A class decorator factory that registers one instance of the class under a name (set on it as
    ``key_attr``); a second converter under the same name is an error."""
    def register(key: str) -> Callable[[type[C]], type[C]]:
        def deco(cls: type[C]) -> type[C]:
            if key in registry:
                raise ValueError(f"{what} {key!r} is already registered")
            inst = cls()
            setattr(inst, key_attr, key)
            registry[key] = inst
            return cls

        return deco

    return register


def _first_accepting(registry: dict[str, C], check: Callable[[C], str | None], what: str) -> C:
    """The first registered converter whose check returns no reason; when none does, the installed
    plug-ins (olmoe) are loaded and the registry asked again, then every reason is reported."""
    from olmo_core.plugins import load_plugins

    for attempt in range(2):
        reasons = []
        for key, conv in registry.items():
            why = check(conv)
            if why is None:
                return conv
            reasons.append(f"{key}: {why}")
        if attempt == 0:
            load_plugins()
    raise ValueError(f"no {what} (" + "; ".join(reasons) + ")")


register_hf_converter = _registrar(HF_CONVERTERS, "model_type", "an HF converter for model_type")


def converter_for_config(cfg: ModelConfig) -> HFConverter:
    return _first_accepting(HF_CONVERTERS, lambda c: c.accepts(cfg), "HF converter accepts this model config")


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


register_olmo_core_converter = _registrar(OLMO_CORE_CONVERTERS, "name", "an OLMo-core converter")


def olmo_core_converter_for_config(cfg: ModelConfig) -> OlmoCoreConverter:
    return _first_accepting(OLMO_CORE_CONVERTERS, lambda c: c.accepts(cfg),
                            "OLMo-core converter accepts this model config")


def olmo_core_converter_for_peer(peer: dict[str, Any]) -> OlmoCoreConverter:
    return _first_accepting(OLMO_CORE_CONVERTERS, lambda c: c.accepts_peer(peer),
                            "OLMo-core converter accepts this OLMo-core TransformerConfig")
