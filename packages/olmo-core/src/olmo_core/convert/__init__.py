"""HF transformers conversion both ways, with a registry of per-architecture converters.

``to_hf(checkpoint_dir, out_dir)`` / ``from_hf(hf_dir, out_dir)``; ``olmo-core convert to-hf|from-hf``.
olmoe adds its MoE layout with :func:`register_hf_converter`."""

from olmo_core.convert import olmo as _olmo  # noqa: F401 - registers the olmo / olmo2 converters
from olmo_core.convert.hf_io import from_hf, hf_model_config, read_hf_weights, to_hf
from olmo_core.convert.registry import (
    HF_CONVERTERS,
    HFConverter,
    converter_for_config,
    converter_for_model_type,
    register_hf_converter,
)

__all__ = ["to_hf", "from_hf", "hf_model_config", "read_hf_weights", "HF_CONVERTERS", "HFConverter",
           "converter_for_config", "converter_for_model_type", "register_hf_converter"]
