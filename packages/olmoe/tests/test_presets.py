"""Presets: OLMoE-1B-7B's published size, and the tiny one builds, runs and routes."""

from __future__ import annotations

import torch

from olmo_core.model import OLMo, get_model_preset
from olmoe.moe import MoEFeedForward
from olmoe.presets import OLMOE_PRESETS, get_olmoe_preset


def test_olmoe_1b_7b_matches_published_parameter_count() -> None:
    cfg = get_olmoe_preset("olmoe_1b_7b")
    assert (cfg.d_model, cfg.n_layers, cfg.n_heads, cfg.embedding_size, cfg.rope_theta) == (2048, 16, 16, 50304, 1e4)
    assert cfg.norm == "rmsnorm" and cfg.qk_norm and not cfg.weight_tying and not cfg.reordered_norm
    opts = cfg.feed_forward.options
    assert (opts["num_experts"], opts["top_k"], opts["hidden_size"], opts["renormalize"]) == (64, 8, 1024, False)
    with torch.device("meta"):
        model = OLMo(cfg)
    assert model.num_params() == 6_919_161_856  # allenai/OLMoE-1B-7B-0924
    assert model.num_params(active_only=True) == 1_282_017_280  # "1B active"
    assert isinstance(model.blocks[0].feed_forward, MoEFeedForward)
    # QK-norm over the full projection width, as in the release
    assert model.blocks[0].attention.q_norm.weight.shape == (2048,)


def test_presets_are_registered_with_olmo_core() -> None:
    for name in OLMOE_PRESETS:
        assert get_model_preset(name) == get_olmoe_preset(name)


def test_tiny_preset_runs_forward_with_aux_losses() -> None:
    torch.manual_seed(0)
    model = OLMo(get_olmoe_preset("olmoe_tiny"))
    ids = torch.randint(0, 50280, (2, 16))
    logits = model(ids)
    assert logits.shape == (2, 16, 50304) and torch.isfinite(logits).all()
    losses = model.pop_auxiliary_losses()
    assert set(losses) == {"lb_loss", "z_loss"}
    # with a fresh router the load-balancing loss sits near its floor of 1 (weight 0.01)
    assert 0.9 * 0.01 < losses["lb_loss"].item() < 1.5 * 0.01
    metrics = model.pop_metrics()
    assert metrics["layer1/routed_tokens"].item() == 32


def test_plain_olmo_core_train_finds_the_olmoe_presets() -> None:
    """olmoe declares an ``olmo_core.plugins`` entry point, so olmo-core's own CLI composes
    ``model=olmoe_tiny`` without olmoe being imported by hand first."""
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-m", "olmo_core.cli", "train", "--preset", "tiny", "model=olmoe_tiny",
                           "--print-config"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "target: olmoe.moe:MoEFeedForward" in proc.stdout and "num_experts: 8" in proc.stdout
