"""olmoe: mixture-of-experts for olmo-core.

Importing the package registers its extensions with olmo-core: the ``olmoe_*`` model presets and the
``olmoe`` HF converter. The MoE layer itself is ``olmoe.moe:MoEFeedForward``."""

__version__ = "0.1.0"


def _register_with_olmo_core() -> None:
    from olmoe import convert, presets  # noqa: F401  (decorators fill olmo-core's registries)


_register_with_olmo_core()
