"""olmoe's extensions of olmo-core's registries: the ``olmoe_*`` model presets (also in hydra's
ConfigStore as ``model=<name>``), the ``olmoe`` HF converter and the ``routing_metrics`` trainer
callback.

Imported by :mod:`olmoe.moe`, so olmo-core has them whenever it builds a model with our layer, and
by the ``olmoe train``/``olmoe convert`` commands before they read any config. The package's own
``__init__`` stays light so that ``olmoe --help`` does not import torch."""

from __future__ import annotations


def register_with_olmo_core() -> None:
    from olmoe import callbacks, convert, presets  # noqa: F401  (decorators fill olmo-core's registries)


register_with_olmo_core()
