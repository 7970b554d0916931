"""olmoe: mixture-of-experts for olmo-core (the layer is ``olmoe.moe:MoEFeedForward``).

``import olmoe.plugins`` registers the presets, the HF converter and the routing-metrics callback
with olmo-core; importing :mod:`olmoe.moe` does it too."""

__version__ = "0.1.0"
