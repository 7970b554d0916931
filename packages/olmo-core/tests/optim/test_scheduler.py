"""Schedules against closed forms."""

from __future__ import annotations

import math

import pytest
import torch

from olmo_core.optim.adamw import OptimConfig
from olmo_core.optim.clipping import clip_grad_norm, max_norm_at
from olmo_core.optim.scheduler import SchedulerConfig, lr_factor


def test_linear_warmup_from_tenth_then_linear_decay_to_tenth() -> None:
    cfg = SchedulerConfig(warmup_steps=10, warmup_start_factor=0.1, alpha_f=0.1)
    assert lr_factor(0, cfg, 110) == pytest.approx(0.1)
    assert lr_factor(5, cfg, 110) == pytest.approx(0.1 + 0.9 * 0.5)
    assert lr_factor(10, cfg, 110) == pytest.approx(1.0)
    assert lr_factor(60, cfg, 110) == pytest.approx(1 - 0.9 * 0.5)
    assert lr_factor(110, cfg, 110) == pytest.approx(0.1)
    assert lr_factor(500, cfg, 110) == pytest.approx(0.1)


def test_cosine_constant_and_final_anneal() -> None:
    cos = SchedulerConfig(name="cosine_with_warmup", warmup_steps=0, alpha_f=0.0)
    assert lr_factor(25, cos, 100) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)))
    const = SchedulerConfig(name="constant", warmup_steps=0, final_anneal_steps=10)
    assert lr_factor(50, const, 100) == 1.0
    assert lr_factor(90, const, 100) == pytest.approx(1.0)
    assert lr_factor(95, const, 100) == pytest.approx(0.5)
    assert lr_factor(100, const, 100) == 0.0
    with pytest.raises(ValueError, match="unknown 'nope'"):
        lr_factor(0, SchedulerConfig(name="nope"), 10)


def test_scheduler_sets_group_lrs() -> None:
    p = torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.AdamW([{"params": [p], "initial_lr": 2.0}], lr=2.0)
    sched = SchedulerConfig(warmup_steps=4, warmup_start_factor=0.0).build(opt, max_steps=100)
    assert sched.set_step(1) == pytest.approx(0.5)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.5)


def test_optimizer_built_from_config_carries_the_peak_lr_into_the_schedule() -> None:
    model = torch.nn.Linear(4, 4)
    cfg = OptimConfig(lr=0.5, scheduler=SchedulerConfig(warmup_steps=10, warmup_start_factor=0.0))
    opt = cfg.build(model)
    assert cfg.scheduler.build(opt, max_steps=20).set_step(5) == pytest.approx(0.25)
    assert [g["lr"] for g in opt.param_groups] == pytest.approx([0.25] * len(opt.param_groups))


def test_clipping_and_the_7b_clip_warmup() -> None:
    cfg = OptimConfig(max_grad_norm=1.0, clip_warmup_steps=1000, clip_warmup_factor=10.0)
    assert max_norm_at(0, cfg) == 10.0 and max_norm_at(999, cfg) == 10.0 and max_norm_at(1000, cfg) == 1.0
    a, b = torch.nn.Parameter(torch.zeros(3)), torch.nn.Parameter(torch.zeros(4))
    a.grad, b.grad = torch.tensor([3.0, 0.0, 0.0]), torch.tensor([0.0, 4.0, 0.0, 0.0])
    norm = clip_grad_norm([a, b], 1.0)
    assert float(norm) == pytest.approx(5.0)  # sqrt(3^2 + 4^2)
    torch.testing.assert_close(a.grad, torch.tensor([0.6, 0.0, 0.0]), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(b.grad, torch.tensor([0.0, 0.8, 0.0, 0.0]), atol=1e-5, rtol=1e-5)
