"""The mixture-of-experts feed-forward (``"olmoe.moe:MoEFeedForward"``): olmo-core's FeedForward
contract with auxiliary losses.

``y = sum_{e in topk(p(x))} p_e(x) * SwiGLU_e(x)`` (+ an optional always-on shared expert), with the
router, dispatch and losses of :mod:`olmoe.router`, :mod:`olmoe.dispatch` and :mod:`olmoe.losses`.
Dropless by default; ``capacity_factor`` bounds each expert to ``ceil(cf * N * k / E)`` assignments
and drops the rest (reported as ``dropped_fraction``).

Losses are kept on the layer between ``pop_auxiliary_losses()`` calls, never in global state. They
are recorded only in training forwards with gradients enabled, and not when activation checkpointing
re-runs the forward inside backward. ``num_layers`` divides the weights so the model's sum over layers
is the mean over layers, as OLMoE (megablocks) trained.

The options are one :class:`olmoe.config.MoEOptions` (their defaults and checks live there). This
module is the math only: it registers nothing (olmo-core finds our presets, converter and callback
through the ``olmoe.plugins`` entry point) and leaves the ranks to :class:`olmoe.stats.GlobalBatchCounts`."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch
from torch import nn

from olmoe.config import MoEOptions
from olmoe.dispatch import apply_capacity, combine, expert_mlp, sort_assignments
from olmoe.losses import expert_counts, load_balancing_loss, router_entropy, router_z_loss
from olmoe.router import Routing, route
from olmoe.stats import GlobalBatchCounts, RoutingStats


def _in_backward() -> bool:
    """True while autograd runs a backward pass (e.g. activation checkpointing recomputing us)."""
    try:
        return torch._C._current_graph_task_id() != -1
    except AttributeError:  # pragma: no cover - older torch
        return False


class MoEFeedForward(nn.Module):
    """Top-k mixture of SwiGLU experts.

    Parameters (names are the checkpoint keys): ``router.weight [E, D]``, ``gate_up [E, D, 2H]``
    (each expert's gate columns then its up columns, ``x @ gate_up[e]``), ``down [E, H, D]``, and with
    ``shared_expert_hidden_size`` a dense ``shared_expert`` (w1/w3/w2 as olmo-core's SwiGLU).

    ``MoEFeedForward(d_model, MoEOptions(...))``; olmo-core's FeedForward contract builds it as
    ``MoEFeedForward(d_model=..., **model.feed_forward.options)``, and those names go through
    :meth:`MoEOptions.from_options` (unknown ones refused), so either way the options are one
    validated :class:`MoEOptions` at ``self.options``."""

    def __init__(self, d_model: int, options: MoEOptions | None = None, **fields: Any) -> None:
        super().__init__()
        if options is not None and fields:
            raise TypeError(f"MoEFeedForward: pass a MoEOptions or its fields, not both (got {sorted(fields)})")
        # a copy: the layer's options must not change under it if the caller's object does
        self.options = MoEOptions.from_options(fields) if options is None else dataclasses.replace(options).validate()
        self.d_model = d_model
        num_experts, hidden_size = self.options.num_experts, self.options.hidden_size
        self.router = nn.Linear(d_model, num_experts, bias=False)
        self.gate_up = nn.Parameter(torch.empty(num_experts, d_model, 2 * hidden_size))
        self.down = nn.Parameter(torch.empty(num_experts, hidden_size, d_model))
        self.shared_expert: nn.Module | None = None
        if self.options.shared_expert_hidden_size:
            from olmo_core.model.feed_forward import SwiGLU

            self.shared_expert = SwiGLU(d_model, self.options.shared_expert_hidden_size)
        self._losses: list[dict[str, torch.Tensor]] = []
        self._metrics = RoutingStats(num_experts)
        self._routing = RoutingStats(num_experts)
        self._global_batch = GlobalBatchCounts()
        #: set to a list to record each forward's top-k indices (analysis probes)
        self.capture: list[torch.Tensor] | None = None
        if not self.gate_up.is_meta:
            self.init_weights(std_in=d_model ** -0.5, std_out=hidden_size ** -0.5)

    @property
    def num_experts(self) -> int:
        return self.options.num_experts

    @property
    def top_k(self) -> int:
        return self.options.top_k

    @property
    def hidden_size(self) -> int:
        """Per expert (olmo-core's init scales the output projection's std by it)."""
        return self.options.hidden_size

    # -- init and size -------------------------------------------------------------------------------

    def init_weights(self, *, std_in: float, std_out: float, generator: torch.Generator | None = None) -> None:
        """Truncated normal (3 sigma): router and gate/up with ``std_in``, down with ``std_out``
        (olmo-core's init calls this with the stds of its scheme)."""
        def trunc(t: torch.Tensor, std: float) -> None:
            nn.init.trunc_normal_(t, mean=0.0, std=std, a=-3 * std, b=3 * std, generator=generator)

        with torch.no_grad():
            trunc(self.router.weight, std_in)
            trunc(self.gate_up, std_in)
            trunc(self.down, std_out)
        if self.shared_expert is not None:
            self.shared_expert.init_weights(std_in=std_in, std_out=std_out, generator=generator)  # type: ignore[operator]

    def num_active_params(self) -> int:
        """Parameters one token uses: the router, k experts and the shared expert."""
        per_expert = 3 * self.d_model * self.hidden_size
        shared = sum(p.numel() for p in self.shared_expert.parameters()) if self.shared_expert is not None else 0
        return self.router.weight.numel() + self.top_k * per_expert + shared

    def extra_repr(self) -> str:
        return (f"d_model={self.d_model}, num_experts={self.num_experts}, top_k={self.top_k}, "
                f"hidden_size={self.hidden_size}, capacity_factor={self.options.capacity_factor}")

    # -- forward -------------------------------------------------------------------------------------

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, self.d_model)
        routing = route(flat, self.router.weight, self.top_k, renormalize=self.options.renormalize)
        y, dropped = self._experts(flat, routing)
        if self.shared_expert is not None:
            y = y + self.shared_expert(flat).float()
        if self.capture is not None:
            self.capture.append(routing.indices.detach())
        self._record(routing, dropped)
        return y.to(x.dtype).reshape(shape)

    def _experts(self, flat: torch.Tensor, routing: Routing) -> tuple[torch.Tensor, torch.Tensor]:
        sa = sort_assignments(routing.indices, self.num_experts)
        dropped = torch.zeros((), dtype=torch.int64, device=flat.device)
        if self.options.capacity_factor is not None:
            capacity = math.ceil(self.options.capacity_factor * flat.shape[0] * self.top_k / self.num_experts)
            sa, dropped = apply_capacity(sa, capacity)
        x_sorted = flat.index_select(0, sa.token)
        out = expert_mlp(x_sorted, self.gate_up.to(flat.dtype), self.down.to(flat.dtype), sa,
                         use_grouped_mm=self.options.grouped_mm)
        weights = routing.weights.reshape(-1).index_select(0, sa.order)
        return combine(out, weights, sa.token, flat.shape[0]), dropped

    # -- losses and metrics --------------------------------------------------------------------------

    def _record(self, routing: Routing, dropped: torch.Tensor) -> None:
        if not self.training:
            return
        # Under activation checkpointing the forward re-runs inside backward: the losses are computed
        # again (the recomputation must save the same tensors) but neither recorded nor all-reduced.
        recompute = _in_backward()
        opts = self.options
        counts = expert_counts(routing.indices, self.num_experts)
        lb_counts = counts
        if opts.aux_loss_scope == "global_batch" and not recompute:
            lb_counts = self._global_batch.add(counts)
        lb = load_balancing_loss(routing.probs, lb_counts, self.top_k, hf_compatible=opts.hf_compatible_lb)
        z = router_z_loss(routing.logits)
        if recompute:
            return
        if torch.is_grad_enabled():
            scale = 1.0 / opts.num_layers
            self._losses.append({"lb_loss": opts.lb_loss_weight * scale * lb,
                                 "z_loss": opts.z_loss_weight * scale * z})
        n = routing.probs.shape[0]
        entropy_sum = router_entropy(routing.probs.detach()) * n
        for stats in (self._metrics, self._routing):
            stats.add(counts=counts, tokens=n, dropped=dropped, entropy_sum=entropy_sum, lb=lb, z=z)

    def pop_auxiliary_losses(self) -> dict[str, torch.Tensor]:
        """Weighted ``lb_loss`` and ``z_loss`` summed over the forwards since the last call."""
        out: dict[str, torch.Tensor] = {}
        for losses in self._losses:
            for name, value in losses.items():
                out[name] = out[name] + value if name in out else value
        self._losses = []
        return out

    def pop_metrics(self) -> dict[str, torch.Tensor]:
        """Additive per-layer counts since the last call (``routed_tokens``, ``dropped_assignments``).

        Only sums: olmo-core's trainer adds these up over micro-batches. Ratios (load imbalance,
        entropy, the unweighted losses) come from the ``routing_metrics`` callback, which aggregates
        the raw sums over micro-batches and ranks before dividing."""
        stats, self._metrics = self._metrics, RoutingStats(self.num_experts)
        if stats.empty():
            return {}
        return {"routed_tokens": stats.tokens.float(), "dropped_assignments": stats.dropped.float()}  # type: ignore[union-attr]

    def pop_routing_stats(self) -> RoutingStats:
        """The raw sums (tokens per expert, ...) since the last call; read by the routing callback."""
        stats, self._routing = self._routing, RoutingStats(self.num_experts)
        return stats

    def reset_global_batch(self) -> None:
        """Start a new global batch for ``aux_loss_scope="global_batch"`` (the routing callback calls
        this after every optimizer step)."""
        self._global_batch.reset()


def moe_layers(model: nn.Module) -> list[tuple[str, MoEFeedForward]]:
    """Every MoE layer of a model with its qualified name, in module order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, MoEFeedForward)]
