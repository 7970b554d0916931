"""Plug-ins: packages that extend olmo-core's registries (model presets, feed-forward layers, HF
converters, callbacks) declare an entry point in the ``olmo_core.plugins`` group, e.g. olmoe's

    [project.entry-points."olmo_core.plugins"]
    olmoe = "olmoe.plugins"

and olmo-core imports them lazily: a registry lookup that misses (:func:`lookup`: a model preset, a
callback, an HF converter) loads the installed plug-ins once and looks again, and composing a config
loads them before hydra reads its store. So ``olmo-core train model=olmoe_tiny`` works wherever olmoe
is installed, without olmo-core naming it, and nothing is imported for lookups that hit."""

from __future__ import annotations

from collections.abc import Mapping
from importlib.metadata import entry_points
from typing import TypeVar

GROUP = "olmo_core.plugins"
_loaded: dict[str, str] = {}
K = TypeVar("K")
V = TypeVar("V")


class PluginError(ImportError):
    pass


def load_plugins() -> dict[str, str]:
    """Import every installed plug-in once; returns ``{entry point name: module}``. A plug-in that fails
    to import raises :class:`PluginError` naming the entry point and the distribution declaring it."""
    for ep in entry_points(group=GROUP):
        if ep.name in _loaded:
            continue
        try:
            ep.load()  # imports the module (and resolves the attribute, if one is named)
        except Exception as e:  # a broken plug-in must say which one it is
            dist = getattr(ep, "dist", None)
            origin = f" (declared by {dist.name} {dist.version})" if dist is not None else ""
            raise PluginError(f"olmo-core plug-in {ep.name!r} = {ep.value!r}{origin} failed to import: {e}") from e
        _loaded[ep.name] = ep.value
    return dict(_loaded)


def lookup(registry: Mapping[K, V], key: K) -> V:
    """``registry[key]``, loading the installed plug-ins first when the key is missing (they fill the
    registries as they import); still missing raises ``KeyError``."""
    if key not in registry:
        load_plugins()
    return registry[key]
