"""A tiny MoE OLMo trains through `olmo-core train`, in one process and with FSDP2 over 2 gloo processes:
the loss falls, and the routing metrics show the load-balancing loss near its floor of 1. The routing
metrics themselves are checked against values derived by hand for a router whose logits are set."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from conftest import moe_overrides, run_cli

from olmoe.callbacks import RoutingMetrics
from olmoe.cli import main
from olmoe.config import MoEOptions
from olmoe.moe import MoEFeedForward


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def check_run(run_dir: Path, steps: int = 8) -> None:
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    losses = [m["train/loss"] for m in metrics]
    assert len(losses) == steps
    assert sum(losses[-2:]) / 2 < sum(losses[:2]) / 2 - 0.1, losses
    assert all(0 < m["train/aux/lb_loss"] < 0.02 and m["train/aux/z_loss"] > 0 for m in metrics)
    routing = read_jsonl(run_dir / "routing_metrics.jsonl")
    assert [r["step"] for r in routing] == list(range(1, steps + 1))
    for r in routing:
        # every global batch: 8 sequences x 64 tokens, top-2 -> 1024 assignments per layer, summed over ranks
        assert [sum(layer) for layer in r["tokens_per_expert"]] == [1024.0, 1024.0]
        assert len(r["tokens_per_expert"][0]) == 8
        assert 0.98 < r["moe/lb_loss"] < 1.15, r["moe/lb_loss"]
        # the summaries follow from the logged counts: max/mean per layer (averaged), zeros (summed)
        per_layer = [max(layer) / (sum(layer) / len(layer)) for layer in r["tokens_per_expert"]]
        assert r["moe/load_imbalance"] == pytest.approx(sum(per_layer) / len(per_layer), rel=1e-9)
        assert r["moe/max_load_imbalance"] == pytest.approx(max(per_layer), rel=1e-9)
        assert r["moe/dead_experts"] == sum(c == 0 for layer in r["tokens_per_expert"] for c in layer)
        assert 0 < r["moe/router_entropy"] <= 2.0795  # log 8
        assert r["moe/dropped_fraction"] == 0.0
    assert "moe/layer1/load_imbalance" in metrics[-1]  # logged through the trainer too
    assert (run_dir / "routing.png").stat().st_size > 0


def test_tiny_moe_trains_single_process(tiny_moe_run: Path) -> None:
    check_run(tiny_moe_run)
    assert sorted(p.name for p in (tiny_moe_run / "checkpoints").iterdir()) == ["step4", "step8"]


def test_tiny_moe_trains_with_fsdp2_on_two_gloo_processes(corpus_tokens: Path, tmp_path: Path) -> None:
    run_cli(["-m", "torch.distributed.run", "--nproc_per_node", "2", "-m", "olmo_core.cli", "train",
             *moe_overrides(corpus_tokens, tmp_path / "run")], timeout=600)
    check_run(tmp_path / "run")
    assert (tmp_path / "run" / "checkpoints" / "step8" / "model").is_dir()  # sharded (DCP) checkpoint


def test_olmoe_train_knows_the_moe_presets(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["train", "--preset", "tiny", "model=olmoe_tiny", "--print-config"]) == 0
    out = capsys.readouterr().out
    assert "target: olmoe.moe:MoEFeedForward" in out and "num_experts: 8" in out


@dataclass
class _State:
    model: torch.nn.Module
    run_dir: Path
    step: int = 0
    is_main_process: bool = True
    logged: dict[str, float] = field(default_factory=dict)

    def log(self, metrics: dict[str, float]) -> None:
        self.logged.update(metrics)


def test_routing_metrics_equal_hand_derived_values_for_a_set_router(tmp_path: Path) -> None:
    """E = 4 experts, top-2, router weight = identity, so token x = 2 e_j + 1 e_m has logits 2 at j, 1 at m,
    0 elsewhere and routes to (j, m). Tokens (0,1), (0,1), (1,0), (0,2): counts c = [4, 3, 1, 0]."""
    layer = MoEFeedForward(4, MoEOptions(num_experts=4, top_k=2, hidden_size=8, num_layers=1,
                                         lb_loss_weight=0.01, z_loss_weight=0.001)).train()
    with torch.no_grad():
        layer.router.weight.copy_(torch.eye(4))
    x = torch.zeros(1, 4, 4)
    for t, (j, m) in enumerate([(0, 1), (0, 1), (1, 0), (0, 2)]):
        x[0, t, j], x[0, t, m] = 2.0, 1.0
    state = _State(layer, tmp_path)
    cb = RoutingMetrics(plot=None)
    cb.on_train_start(state)
    layer(x)
    aux = layer.pop_auxiliary_losses()
    state.step = 1
    cb.on_step_end(state, {})

    e = math.e
    s = e * e + e + 2  # every token's softmax denominator: e^2 + e^1 + e^0 + e^0
    # P_i = mean over tokens of p_{t,i}: expert 0 has e^2 (x3 tokens) and e (x1); expert 1 e, e, e^2, 1; ...
    p_mean = [(3 * e * e + e) / (4 * s), (2 * e + e * e + 1) / (4 * s), (3 + e) / (4 * s), 4 / (4 * s)]
    f = [4 / 8, 3 / 8, 1 / 8, 0 / 8]
    lb = 4 * sum(fi * pi for fi, pi in zip(f, p_mean))
    z = math.log(s) ** 2  # the same logsumexp for every token
    assert lb == pytest.approx(1.51496, abs=1e-5) and z == pytest.approx(6.21910, abs=1e-5)  # worked by hand
    logged = state.logged
    assert logged["moe/dead_experts"] == 1
    assert logged["moe/load_imbalance"] == pytest.approx(4 / 2)  # max 4 over mean 8/4
    assert logged["moe/lb_loss"] == pytest.approx(lb, rel=1e-6)
    assert logged["moe/z_loss"] == pytest.approx(z, rel=1e-6)
    assert logged["moe/dropped_fraction"] == 0.0
    assert float(aux["lb_loss"]) == pytest.approx(0.01 * lb, rel=1e-6)
    assert float(aux["z_loss"]) == pytest.approx(0.001 * z, rel=1e-6)
