"""The OLMo model family: config, presets, the transformer, and its parts."""

from olmo_core.model.config import ConfigError, FeedForwardConfig, ModelConfig
from olmo_core.model.feed_forward import FEED_FORWARDS, SwiGLU, build_feed_forward, register_feed_forward
from olmo_core.model.kv_cache import KVCache
from olmo_core.model.presets import MODEL_PRESETS, get_model_preset, register_model_preset
from olmo_core.model.transformer import OLMo, TransformerBlock

__all__ = ["ConfigError", "FeedForwardConfig", "ModelConfig", "FEED_FORWARDS", "SwiGLU", "build_feed_forward",
           "register_feed_forward", "KVCache", "MODEL_PRESETS", "get_model_preset", "register_model_preset",
           "OLMo", "TransformerBlock"]
