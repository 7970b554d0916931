"""Conversion both ways to HF transformers and to the original OLMo-core 3.0, with a registry of
per-architecture converters for each.

``to_hf(checkpoint_dir, out_dir)`` / ``from_hf(hf_dir, out_dir)``; ``olmo-core convert to-hf|from-hf``.
OLMo-core: :mod:`olmo_core.convert.olmo_core_layout` (state dicts and configs);
``olmo-core convert to-olmo-core|from-olmo-core`` (its distributed checkpoints).
olmoe adds its MoE layouts with :func:`register_hf_converter` / :func:`register_olmo_core_converter`."""

from olmo_core.convert import olmo as _olmo  # noqa: F401 - registers the olmo / olmo2 converters
from olmo_core.convert import olmo_core_layout as _olmo_core_layout  # noqa: F401 - registers "transformer"
from olmo_core.convert.hf_io import from_hf, hf_model_config, read_hf_weights, to_hf
from olmo_core.convert.registry import (
    HF_CONVERTERS,
    OLMO_CORE_CONVERTERS,
    HFConverter,
    OlmoCoreConverter,
    converter_for_config,
    converter_for_model_type,
    olmo_core_converter_for_config,
    olmo_core_converter_for_peer,
    register_hf_converter,
    register_olmo_core_converter,
)

__all__ = ["to_hf", "from_hf", "hf_model_config", "read_hf_weights", "HF_CONVERTERS", "HFConverter",
           "converter_for_config", "converter_for_model_type", "register_hf_converter", "OLMO_CORE_CONVERTERS",
           "OlmoCoreConverter", "olmo_core_converter_for_config", "olmo_core_converter_for_peer",
           "register_olmo_core_converter"]
