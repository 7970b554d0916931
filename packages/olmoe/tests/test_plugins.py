"""One way olmoe's extensions reach olmo-core: its ``olmo_core.plugins`` entry point, which olmo-core's
registries load when a lookup misses. Nothing in olmoe imports its plug-ins module, so the layer
stays math only (each check runs in a fresh interpreter, where nothing is registered yet)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_fresh(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def test_the_layer_registers_nothing() -> None:
    out = run_fresh("""
        import sys
        import olmoe.moe
        print(sorted(m for m in sys.modules if m.startswith("olmoe")))
    """)
    assert "olmoe.plugins" not in out and "olmoe.callbacks" not in out and "olmoe.convert" not in out


def test_registry_misses_load_the_plugin() -> None:
    out = run_fresh("""
        import sys
        from olmo_core.convert.registry import converter_for_model_type
        from olmo_core.model import get_model_preset
        from olmo_core.train.callbacks.base import build_callback
        assert not [m for m in sys.modules if m.startswith("olmoe")]
        cfg = get_model_preset("olmoe_tiny")  # a miss: olmo-core loads the entry points, then finds it
        assert "olmoe.plugins" in sys.modules
        print(cfg.feed_forward.target, type(build_callback("routing_metrics")).__name__,
              converter_for_model_type("olmoe").architecture)
    """)
    assert out.split() == ["olmoe.moe:MoEFeedForward", "RoutingMetrics", "OlmoeForCausalLM"]


def test_converter_scan_loads_the_plugin_when_no_builtin_accepts() -> None:
    out = run_fresh("""
        import sys
        from olmo_core.convert.registry import converter_for_config
        from olmoe.presets import olmoe_tiny
        assert "olmoe.convert" not in sys.modules
        print(converter_for_config(olmoe_tiny()).architecture)
    """)
    assert out.strip() == "OlmoeForCausalLM"
