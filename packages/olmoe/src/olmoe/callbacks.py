"""Routing metrics as a trainer callback (``trainer.callbacks.routing_metrics``).

Every ``every`` steps it reads the raw routing sums each MoE layer accumulated since the last read
(all micro-batches, summed over ranks), and logs: tokens per expert per layer (to
``<run_dir>/routing_metrics.jsonl``), and per layer and averaged over layers the unweighted
load-balancing loss (floor 1), router z-loss, load imbalance (max/mean tokens per expert), dead
experts, router entropy and the capacity drop fraction. At the end it draws the tokens-per-expert
heatmap and the load-balancing loss curve (``routing.png``). After every step it starts a new global
batch for layers using ``aux_loss_scope="global_batch"``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from olmo_core.distributed.utils import all_reduce_sum
from olmo_core.fileio import write_atomic
from olmo_core.interfaces import TrainerState
from olmo_core.train.callbacks.base import TrainerCallback, register_callback
from olmoe.losses import dead_experts, load_imbalance
from olmoe.moe import moe_layers
from olmoe.stats import RoutingStats


def layer_metrics(counts: torch.Tensor, tokens: float, dropped: float, entropy_sum: float, lb_sum: float,
                  z_sum: float, forwards: float) -> dict[str, float]:
    """One layer's summary from summed statistics (pure)."""
    return {
        "lb_loss": lb_sum / max(forwards, 1.0),
        "z_loss": z_sum / max(forwards, 1.0),
        "load_imbalance": float(load_imbalance(counts)),
        "dead_experts": float(dead_experts(counts)),
        "router_entropy": entropy_sum / max(tokens, 1.0),
        "dropped_fraction": dropped / max(float(counts.sum()), 1.0),
    }


def reduce_stats(stats: list[RoutingStats], device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """Sum every layer's statistics over ranks: ``counts [L, E]`` and ``scalars [L, 6]`` (tokens,
    dropped, entropy_sum, lb_sum, z_sum, forwards). A single all-reduce for the whole model."""
    num_experts = max((s.num_experts for s in stats), default=0)
    counts = torch.zeros(len(stats), num_experts, dtype=torch.float64, device=device)
    scalars = torch.zeros(len(stats), 6, dtype=torch.float64, device=device)
    for i, s in enumerate(stats):
        if s.empty():
            continue
        counts[i, :s.num_experts] = s.counts.to(device, torch.float64)  # type: ignore[union-attr]
        scalars[i] = torch.stack([t.to(device, torch.float64) for t in (  # type: ignore[union-attr]
            s.tokens, s.dropped, s.entropy_sum, s.lb_sum, s.z_sum)] + [torch.tensor(
                float(s.forwards), dtype=torch.float64, device=device)])
    packed = all_reduce_sum(torch.cat([counts.flatten(), scalars.flatten()]))
    return packed[:counts.numel()].view_as(counts).cpu(), packed[counts.numel():].view_as(scalars).cpu()


@register_callback("routing_metrics")
class RoutingMetrics(TrainerCallback):
    def __init__(self, every: int = 1, filename: str = "routing_metrics.jsonl", plot: str | None = "routing.png",
                 per_layer: bool = True) -> None:
        self.every = max(int(every), 1)
        self.filename, self.plot, self.per_layer = filename, plot, per_layer
        self.history: list[tuple[int, float]] = []  #: (step, mean load-balancing loss)
        self.last_counts: list[list[float]] | None = None

    def _device(self, state: TrainerState) -> torch.device:
        for p in state.model.parameters():
            return p.device if p.device.type != "meta" else torch.device("cpu")
        return torch.device("cpu")

    def on_train_start(self, state: TrainerState) -> None:
        for _, layer in moe_layers(state.model):
            layer.pop_routing_stats()
            layer.reset_global_batch()
        path = Path(state.run_dir) / self.filename
        if state.is_main_process and path.is_file():  # a resumed run: forget lines past the checkpoint
            kept = [ln for ln in path.read_text().splitlines() if ln.strip() and json.loads(ln)["step"] <= state.step]
            write_atomic(path, "".join(ln + "\n" for ln in kept))
        self.history = [(s, v) for s, v in self.history if s <= state.step]

    def on_step_end(self, state: TrainerState, metrics: Mapping[str, float]) -> None:
        layers = moe_layers(state.model)
        for _, layer in layers:
            layer.reset_global_batch()
        if not layers or state.step % self.every:
            return
        counts, scalars = reduce_stats([layer.pop_routing_stats() for _, layer in layers], self._device(state))
        per_layer = [layer_metrics(counts[i], *scalars[i].tolist()) for i in range(len(layers))]
        out: dict[str, float] = {}
        for key in per_layer[0]:
            out[f"moe/{key}"] = sum(m[key] for m in per_layer) / len(per_layer)
        out["moe/max_load_imbalance"] = max(m["load_imbalance"] for m in per_layer)
        out["moe/dead_experts"] = sum(m["dead_experts"] for m in per_layer)
        if self.per_layer:
            for i, m in enumerate(per_layer):
                out.update({f"moe/layer{i}/{k}": v for k, v in m.items()})
        state.log(out)
        self.history.append((state.step, out["moe/lb_loss"]))
        self.last_counts = counts.tolist()
        if state.is_main_process:
            record = {"step": state.step, "layers": [name for name, _ in layers], "tokens_per_expert": counts.tolist(),
                      **{k: v for k, v in out.items() if "/layer" not in k}, "per_layer": per_layer}
            with open(Path(state.run_dir) / self.filename, "a") as f:
                f.write(json.dumps(record) + "\n")

    def on_train_end(self, state: TrainerState) -> None:
        if state.is_main_process and self.plot and self.last_counts is not None:
            from olmoe.analysis.plots import plot_routing_summary

            plot_routing_summary(self.last_counts, self.history, Path(state.run_dir) / self.plot)

    def state_dict(self) -> dict[str, Any]:
        return {"history": [list(h) for h in self.history], "last_counts": self.last_counts}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.history = [(int(s), float(v)) for s, v in state.get("history", [])]
        self.last_counts = state.get("last_counts")

