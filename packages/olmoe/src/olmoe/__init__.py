"""olmoe: mixture-of-experts for olmo-core (the layer is ``olmoe.moe:MoEFeedForward``, its options
``olmoe.config.MoEOptions``).

olmo-core loads :mod:`olmoe.plugins` (presets, HF converter, routing-metrics callback) through the
``olmo_core.plugins`` entry point when one of its registries misses a name; nothing here imports it."""

__version__ = "0.1.0"
