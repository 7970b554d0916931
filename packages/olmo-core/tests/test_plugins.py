"""Plug-ins found through the ``olmo_core.plugins`` entry-point group: imported once, and a broken
one is named in the error."""

from __future__ import annotations

import sys
from importlib.metadata import EntryPoint

import pytest

import olmo_core.plugins as plugins


def test_plugins_are_imported_once_and_broken_ones_named(monkeypatch, tmp_path) -> None:
    (tmp_path / "fake_olmo_plugin.py").write_text("import builtins\nbuiltins.FAKE_PLUGIN_IMPORTS = "
                                                  "getattr(builtins, 'FAKE_PLUGIN_IMPORTS', 0) + 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_loaded", {})
    good = EntryPoint(name="fake", value="fake_olmo_plugin", group=plugins.GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [good] if group == plugins.GROUP else [])
    assert plugins.load_plugins() == {"fake": "fake_olmo_plugin"}
    del sys.modules["fake_olmo_plugin"]
    assert plugins.load_plugins() == {"fake": "fake_olmo_plugin"}  # not imported a second time
    import builtins

    assert builtins.FAKE_PLUGIN_IMPORTS == 1
    del builtins.FAKE_PLUGIN_IMPORTS

    broken = EntryPoint(name="broken", value="no_such_module_for_olmo_core", group=plugins.GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [good, broken])
    with pytest.raises(plugins.PluginError, match="plug-in 'broken' = 'no_such_module_for_olmo_core'"):
        plugins.load_plugins()


def test_a_registry_miss_loads_the_plugins_then_looks_again(monkeypatch, tmp_path) -> None:
    """What olmoe relies on: nothing imports a plug-in until a lookup misses the name it registers."""
    from olmo_core.model.presets import MODEL_PRESETS, get_model_preset, tiny

    (tmp_path / "fake_preset_plugin.py").write_text(
        "from olmo_core.model.presets import register_model_preset, tiny\n"
        "register_model_preset('fake_plugin_preset')(tiny)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(plugins, "_loaded", {})
    ep = EntryPoint(name="fake_preset", value="fake_preset_plugin", group=plugins.GROUP)
    monkeypatch.setattr(plugins, "entry_points", lambda group: [ep] if group == plugins.GROUP else [])
    try:
        assert get_model_preset("tiny") == tiny() and plugins._loaded == {}  # a hit loads nothing
        assert get_model_preset("fake_plugin_preset") == tiny()
        assert plugins._loaded == {"fake_preset": "fake_preset_plugin"}
        with pytest.raises(KeyError, match="unknown model preset 'nope'"):
            get_model_preset("nope")
    finally:
        MODEL_PRESETS.pop("fake_plugin_preset", None)
        sys.modules.pop("fake_preset_plugin", None)
