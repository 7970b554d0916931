"""olmoe: mixture-of-experts for olmo-core.

Importing the package registers its extensions with olmo-core: the ``olmoe_*`` model presets, the
``olmoe`` HF converter and the ``routing_metrics`` trainer callback. olmo-core imports the package
by itself whenever it builds a model whose feed-forward is ``olmoe.moe:MoEFeedForward``."""

__version__ = "0.1.0"


def _register_with_olmo_core() -> None:
    from olmoe import callbacks, convert, presets  # noqa: F401  (decorators fill olmo-core's registries)


_register_with_olmo_core()
