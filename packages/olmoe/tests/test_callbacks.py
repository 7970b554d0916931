"""The routing-metrics callback on a two-layer model, without a trainer: what it logs equals the
statistics computed directly from the routers, and a resumed run forgets lines past its checkpoint."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import torch
from torch import nn

from olmo_core.interfaces import Callback
from olmo_core.train.callbacks import CALLBACKS
from olmoe.callbacks import RoutingMetrics
from olmoe.config import MoEOptions
from olmoe.moe import MoEFeedForward


@dataclass
class State:
    model: nn.Module
    run_dir: Path
    step: int = 0
    tokens_seen: int = 0
    is_main_process: bool = True
    logged: dict[str, float] = field(default_factory=dict)

    def log(self, metrics: dict[str, float]) -> None:
        self.logged.update(metrics)


def test_logs_routing_statistics_of_every_layer(tmp_path: Path) -> None:
    torch.manual_seed(0)
    opts = MoEOptions(num_experts=4, top_k=2, hidden_size=8)
    model = nn.Sequential(MoEFeedForward(16, opts), MoEFeedForward(16, opts)).train()
    cb = CALLBACKS["routing_metrics"]()
    assert isinstance(cb, RoutingMetrics) and isinstance(cb, Callback)
    state = State(model=model, run_dir=tmp_path)
    cb.on_train_start(state)
    xs = [torch.randn(2, 5, 16), torch.randn(2, 5, 16)]  # two micro-batches
    for x in xs:
        model(x)
    state.step = 1
    cb.on_step_end(state, {})
    model.eval()  # the reference forwards below must not count as routed training tokens
    for i, layer in enumerate(model):
        with torch.no_grad():
            h = list(xs) if i == 0 else [model[0](x) for x in xs]
        logits = torch.cat([hh.reshape(-1, 16) @ layer.router.weight.t() for hh in h])
        probs = torch.softmax(logits, -1)
        counts = torch.bincount(torch.topk(probs, 2).indices.reshape(-1), minlength=4).float()
        assert state.logged[f"moe/layer{i}/load_imbalance"] == pytest.approx((counts.max() / counts.mean()).item())
        assert state.logged[f"moe/layer{i}/dead_experts"] == (counts == 0).sum().item()
        entropy = -(probs * probs.log()).sum(-1).mean().item()
        assert state.logged[f"moe/layer{i}/router_entropy"] == pytest.approx(entropy, rel=1e-5)
        assert 0 < state.logged[f"moe/layer{i}/router_entropy"] <= math.log(4)
    model.train()
    line = json.loads((tmp_path / "routing_metrics.jsonl").read_text())
    assert line["step"] == 1 and [sum(c) for c in line["tokens_per_expert"]] == [40.0, 40.0]  # 20 tokens x top-2

    for step in (2, 3):
        model(xs[0])
        state.step = step
        cb.on_step_end(state, {})
    cb.on_train_end(state)
    assert (tmp_path / "routing.png").stat().st_size > 0
    # resuming from a step-2 checkpoint: the step-3 line belongs to the abandoned run
    resumed = RoutingMetrics()
    resumed.load_state_dict(json.loads(json.dumps(cb.state_dict())))
    state.step = 2
    resumed.on_train_start(state)
    steps = [json.loads(x)["step"] for x in (tmp_path / "routing_metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2] and [s for s, _ in resumed.history] == [1, 2]
