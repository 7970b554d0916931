"""olmoe's extensions of olmo-core's registries: the MoE feed-forward (``olmoe.moe:MoEFeedForward``, a
registered name, not an import path), the ``olmoe_*`` model presets (also in hydra's
ConfigStore as ``model=<name>``), the ``olmoe`` HF and OLMo-core converters, the ``routing_metrics`` trainer
callback, and the ``olmoe/moe`` structured config.

The one way they load: this module is olmoe's ``olmo_core.plugins`` entry point, which olmo-core
imports when one of its registries misses a name (``get_model_preset("olmoe_tiny")``, callback
``routing_metrics``, converter ``olmoe``) or before hydra composes a config. Nothing in olmoe imports
it, so the layer and the modules it registers stay free of each other; the package's own ``__init__``
stays light so that ``olmoe --help`` does not import torch."""

from __future__ import annotations


def register_with_olmo_core() -> None:
    from hydra.core.config_store import ConfigStore

    from olmo_core.model.feed_forward import FEED_FORWARDS, register_feed_forward
    from olmoe import callbacks, convert, convert_olmo_core, presets  # noqa: F401  (decorators fill olmo-core's registries)
    from olmoe.config import MOE_TARGET, MoEOptions
    from olmoe.moe import MoEFeedForward

    # The MoE layer under its feed-forward name (the one MoEOptions.feed_forward() writes into configs).
    if MOE_TARGET not in FEED_FORWARDS:
        register_feed_forward(MOE_TARGET)(lambda config, **options: MoEFeedForward(d_model=config.d_model, **options))
    ConfigStore.instance().store(group="olmoe", name="moe", node=MoEOptions)


register_with_olmo_core()
