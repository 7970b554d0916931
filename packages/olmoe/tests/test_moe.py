"""The dropless dispatch against a dense reference that runs every expert on every token."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from olmo_core.interfaces import FeedForward, HasAuxiliaryLosses, check_feed_forward
from olmo_core.model.config import ConfigError
from olmoe.config import MoEOptions
from olmoe.dispatch import grouped_mm_supported
from olmoe.moe import MoEFeedForward

E, K, D, H = 8, 3, 16, 8


def dense_reference(layer: MoEFeedForward, x: torch.Tensor, capacity: int | None = None) -> torch.Tensor:
    """Every expert on every token; the output mixes them with the top-k probabilities (zero elsewhere).
    With ``capacity``, assignment (t, j) survives if fewer than ``capacity`` earlier assignments in
    (token, slot) order chose its expert, as in Switch."""
    flat = x.reshape(-1, D)
    probs = torch.softmax(flat @ layer.router.weight.t(), dim=-1)
    top_w, top_i = torch.topk(probs, K, dim=-1)
    if layer.options.renormalize:
        top_w = top_w / top_w.sum(-1, keepdim=True)
    keep = torch.ones_like(top_i, dtype=torch.bool)
    if capacity is not None:
        seen = [0] * E
        for t in range(top_i.shape[0]):
            for j in range(K):
                e = int(top_i[t, j])
                keep[t, j] = seen[e] < capacity
                seen[e] += 1
    gates = torch.zeros_like(probs).scatter(1, top_i, top_w * keep)
    y = torch.zeros_like(flat)
    for e in range(E):
        g, u = (flat @ layer.gate_up[e]).chunk(2, dim=-1)
        y = y + gates[:, e:e + 1] * ((F.silu(g) * u) @ layer.down[e])
    if layer.shared_expert is not None:
        y = y + layer.shared_expert(flat)
    return y.reshape(x.shape)


def skewed_layer(seed: int = 0, **kw) -> tuple[MoEFeedForward, torch.Tensor]:
    """Positive inputs and a router whose last two rows are negative: those experts are never chosen,
    and the rest get uneven loads."""
    torch.manual_seed(seed)
    layer = MoEFeedForward(D, MoEOptions(num_experts=E, top_k=K, hidden_size=H, **kw))
    with torch.no_grad():
        layer.router.weight.copy_(torch.rand(E, D) * torch.linspace(0.2, 2.0, E)[:, None])
        layer.router.weight[-2:] = -1.0
    x = (torch.rand(2, 7, D) + 0.05).requires_grad_(True)
    return layer, x


def grads(out: torch.Tensor, layer: MoEFeedForward, x: torch.Tensor, g: torch.Tensor) -> list[torch.Tensor]:
    params = [x, layer.router.weight, layer.gate_up, layer.down]
    return list(torch.autograd.grad(out, params, g))


@pytest.mark.parametrize("grouped", [None, False])
def test_dispatch_matches_dense_reference_with_uneven_and_empty_experts(grouped: bool | None) -> None:
    layer, x = skewed_layer(grouped_mm=grouped)
    if grouped is None:
        assert grouped_mm_supported(x.reshape(-1, D).detach(), layer.gate_up.detach())
    y = layer(x)
    ref = dense_reference(layer, x)
    top = torch.topk(torch.softmax(x.reshape(-1, D) @ layer.router.weight.t(), -1), K).indices
    counts = torch.bincount(top.reshape(-1), minlength=E)
    assert (counts[-2:] == 0).all() and len(set(counts[:-2].tolist())) > 1  # empty and uneven experts
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
    g = torch.randn_like(y)
    for a, b in zip(grads(y, layer, x, g), grads(ref, layer, x, g)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_renormalized_topk_and_shared_expert_match_reference() -> None:
    layer, x = skewed_layer(renormalize=True, shared_expert_hidden_size=12)
    y = layer(x)
    ref = dense_reference(layer, x)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
    g = torch.randn_like(y)
    for a, b in zip(grads(y, layer, x, g), grads(ref, layer, x, g)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)


def test_capacity_factor_drops_latest_tokens_and_reports_them() -> None:
    layer, x = skewed_layer(capacity_factor=0.5)
    layer.train()
    n = x.shape[0] * x.shape[1]
    capacity = math.ceil(0.5 * n * K / E)
    y = layer(x)
    ref = dense_reference(layer, x, capacity=capacity)
    torch.testing.assert_close(y, ref, atol=1e-5, rtol=1e-5)
    g = torch.randn_like(y)
    for a, b in zip(grads(y, layer, x, g), grads(ref, layer, x, g)):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    top = torch.topk(x.reshape(-1, D) @ layer.router.weight.t(), K).indices
    expected_drop = (torch.bincount(top.reshape(-1), minlength=E) - capacity).clamp_min(0).sum().item()
    assert expected_drop > 0
    assert layer.pop_metrics()["dropped_assignments"].item() == expected_drop
    stats = layer.pop_routing_stats()
    assert stats.dropped.item() == expected_drop and stats.counts.sum().item() == n * K


def test_bfloat16_layer_runs_grouped_and_stays_close_to_fp32() -> None:
    layer, x = skewed_layer()
    ref = layer(x).detach()
    layer16 = MoEFeedForward(D, layer.options).to(torch.bfloat16)
    layer16.load_state_dict(layer.state_dict())
    x16 = x.detach().to(torch.bfloat16)
    assert grouped_mm_supported(x16.reshape(-1, D), layer16.gate_up.detach())
    y16 = layer16(x16)
    assert y16.dtype == torch.bfloat16
    torch.testing.assert_close(y16.float(), ref, atol=3e-2, rtol=3e-2)


def test_meets_feed_forward_contract_and_counts_active_params() -> None:
    layer = MoEFeedForward(D, MoEOptions(num_experts=E, top_k=K, hidden_size=H))
    assert isinstance(layer, FeedForward) and isinstance(layer, HasAuxiliaryLosses)
    check_feed_forward(layer, D)
    assert layer.num_active_params() == E * D + K * 3 * D * H
    assert sum(p.numel() for p in layer.parameters()) == E * D + E * 3 * D * H


def test_aux_losses_recorded_once_per_forward_even_with_activation_checkpointing() -> None:
    layer, x = skewed_layer()
    layer.train()
    out = checkpoint(layer, x, use_reentrant=False)
    out.sum().backward()
    losses = layer.pop_auxiliary_losses()
    assert set(losses) == {"lb_loss", "z_loss"}
    layer(x)  # one plain forward: the same values again, not doubled by the recompute above
    again = layer.pop_auxiliary_losses()
    torch.testing.assert_close(losses["lb_loss"], again["lb_loss"])
    assert layer.pop_auxiliary_losses() == {}
    layer.eval()
    layer(x)
    assert layer.pop_auxiliary_losses() == {}


def test_widths_grouped_mm_cannot_take_fall_back_to_the_exact_loop() -> None:
    torch.manual_seed(3)
    layer = MoEFeedForward(6, MoEOptions(num_experts=4, top_k=2, hidden_size=5))  # 24- and 20-byte rows
    x = torch.randn(3, 4, 6, requires_grad=True)
    assert not grouped_mm_supported(x.reshape(-1, 6).detach(), layer.gate_up.detach())
    probs = torch.softmax(x.reshape(-1, 6) @ layer.router.weight.t(), -1)
    w, i = torch.topk(probs, 2)
    ref = torch.zeros(12, 6)
    for e in range(4):
        g, u = (x.reshape(-1, 6) @ layer.gate_up[e]).chunk(2, -1)
        gate = (w * (i == e)).sum(-1, keepdim=True)
        ref = ref + gate * ((F.silu(g) * u) @ layer.down[e])
    y = layer(x)
    torch.testing.assert_close(y.reshape(-1, 6), ref, atol=1e-5, rtol=1e-5)
    gy = torch.randn_like(ref)
    a = torch.autograd.grad(y.reshape(-1, 6), [x, layer.gate_up, layer.down], gy)
    b = torch.autograd.grad(ref, [x, layer.gate_up, layer.down], gy)
    for p, q in zip(a, b):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-5)


def test_router_stays_float32_under_autocast() -> None:
    layer, x = skewed_layer()
    layer.train()
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        y = layer(x)
    assert torch.isfinite(y).all()
    logits = x.reshape(-1, D) @ layer.router.weight.t()
    expected_z = torch.logsumexp(logits, -1).square().mean()
    z = layer.pop_auxiliary_losses()["z_loss"] / 0.001
    assert z.item() == pytest.approx(expected_z.item(), rel=1e-6)  # bf16 logits would miss by ~1e-3


def test_options_come_as_a_moe_options_or_as_its_fields_and_are_checked_there() -> None:
    """olmo-core builds the layer as ``MoEFeedForward(d_model=..., **options)``: the same options,
    defaults and checks as a :class:`MoEOptions`, whose caller's object is copied, not shared."""
    opts = MoEOptions(num_experts=E, top_k=K, hidden_size=H)
    by_fields = MoEFeedForward(d_model=D, num_experts=E, top_k=K, hidden_size=H)
    layer = MoEFeedForward(D, opts)
    assert by_fields.options == layer.options == opts and layer.options is not opts
    assert MoEFeedForward(D, MoEOptions(num_experts=4, top_k=2, hidden_size=4)).options.lb_loss_weight == \
        MoEOptions().lb_loss_weight
    with pytest.raises(ConfigError, match="top_k"):
        MoEFeedForward(D, num_experts=4, top_k=5, hidden_size=H)
    with pytest.raises(ConfigError, match="aux_loss_scope"):
        MoEFeedForward(D, MoEOptions(num_experts=4, top_k=2, hidden_size=H, aux_loss_scope="batch"))
    with pytest.raises(ConfigError, match="unknown field.*experts"):
        MoEFeedForward(D, experts=4)
    with pytest.raises(TypeError, match="not both"):
        MoEFeedForward(D, opts, top_k=2)
