"""Preference losses against TRL's formulas, re-derived here independently in float64 `math`.

TRL (DPOTrainer.dpo_loss, CPOTrainer for SimPO), per pair, with logits = (pi_c - pi_r) - (ref_c - ref_r):
  sigmoid: -logsigmoid(beta*logits)*(1-ls) - logsigmoid(-beta*logits)*ls
  hinge:   relu(1 - beta*logits)
  ipo:     (logits - 1/(2*beta))**2, with every log-prob averaged over completion tokens
  simpo:   logits = avg_c - avg_r - gamma/beta; the sigmoid form above
and open-instruct's dpo_norm: sigmoid on averaged log-probs. Rewards: beta*(pi - ref)."""

from __future__ import annotations

import math

import pytest
import torch

from open_instruct.losses.dpo import DPO_LOSSES, LN2_AT_START, PreferenceLogps, dpo_loss
from open_instruct.train.objectives import DPOLoss

G = torch.Generator().manual_seed(0)
P = 16
PC, PR = -torch.rand(P, generator=G, dtype=torch.float64) * 40, -torch.rand(P, generator=G, dtype=torch.float64) * 40
RC, RR = -torch.rand(P, generator=G, dtype=torch.float64) * 40, -torch.rand(P, generator=G, dtype=torch.float64) * 40
NC, NR = torch.randint(1, 30, (P,), generator=G), torch.randint(1, 30, (P,), generator=G)


def logsig(x: float) -> float:
    return -math.log1p(math.exp(-x)) if x >= 0 else x - math.log1p(math.exp(x))


def trl(loss: str, i: int, beta: float, ls: float = 0.0, gamma: float = 0.5) -> tuple[float, float, float]:
    pc, pr, rc, rr = float(PC[i]), float(PR[i]), float(RC[i]), float(RR[i])
    nc, nr = int(NC[i]), int(NR[i])
    if loss in ("ipo", "dpo_norm", "simpo"):
        pc, pr, rc, rr = pc / nc, pr / nr, rc / nc, rr / nr
    if loss == "simpo":
        z = pc - pr - gamma / beta
        return (-logsig(beta * z) * (1 - ls) - logsig(-beta * z) * ls, beta * pc, beta * pr)
    z = (pc - pr) - (rc - rr)
    value = {"dpo": -logsig(beta * z) * (1 - ls) - logsig(-beta * z) * ls,
             "dpo_norm": -logsig(beta * z) * (1 - ls) - logsig(-beta * z) * ls,
             "hinge": max(0.0, 1 - beta * z),
             "ipo": (z - 1 / (2 * beta)) ** 2}[loss]
    return value, beta * (pc - rc), beta * (pr - rr)


SMOOTHABLE = sorted(set(DPO_LOSSES) - {"ipo", "hinge"})  # TRL has no label-smoothed ipo or hinge


@pytest.mark.parametrize("loss,beta,ls", [(loss, beta, 0.0) for loss in sorted(DPO_LOSSES) for beta in (0.1, 5.0)]
                         + [(loss, 0.5, 0.1) for loss in SMOOTHABLE])
def test_equals_trl_formulas(loss: str, beta: float, ls: float) -> None:
    for dtype in (torch.float64, torch.float32):
        lp = PreferenceLogps(PC.to(dtype), PR.to(dtype), NC, NR, RC.to(dtype), RR.to(dtype))
        losses, rc, rr = dpo_loss(loss, lp, beta=beta, label_smoothing=ls)
        for i in range(P):
            want = trl(loss, i, beta, ls)
            got = (float(losses[i]), float(rc[i]), float(rr[i]))
            assert got == pytest.approx(want, rel=1e-6, abs=1e-5), (loss, i, dtype)


@pytest.mark.parametrize("loss", LN2_AT_START)
@pytest.mark.parametrize("ls", [0.0, 0.2])
def test_step_zero_is_ln2(loss: str, ls: float) -> None:
    lp = PreferenceLogps(PC, PR, NC, NR, PC.clone(), PR.clone())
    losses, rc, rr = dpo_loss(loss, lp, beta=0.1 if loss == "dpo" else 5.0, label_smoothing=ls)
    assert torch.allclose(losses, torch.full_like(losses, math.log(2)), atol=1e-12)
    assert (rc == 0).all() and (rr == 0).all()


def test_other_losses_at_step_zero() -> None:
    lp = PreferenceLogps(PC, PR, NC, NR, PC.clone(), PR.clone())
    assert torch.allclose(dpo_loss("hinge", lp, beta=0.1)[0], torch.ones(P, dtype=torch.float64))
    assert torch.allclose(dpo_loss("ipo", lp, beta=0.1)[0], torch.full((P,), 25.0, dtype=torch.float64))


def test_gradient_direction() -> None:
    pc = PC.clone().requires_grad_(True)
    pr = PR.clone().requires_grad_(True)
    lp = PreferenceLogps(pc, pr, NC, NR, RC, RR)
    for name in set(DPO_LOSSES) - {"ipo"}:  # IPO regresses to a target margin, so it may push back
        pc.grad = pr.grad = None
        dpo_loss(name, lp, beta=0.1)[0].sum().backward()
        # lowering the loss means raising chosen and lowering rejected (where the loss is active)
        assert (pc.grad <= 0).all() and (pr.grad >= 0).all(), name


@pytest.mark.parametrize("loss", ["ipo", "hinge"])
def test_label_smoothing_refused_where_trl_has_none(loss: str) -> None:
    """TRL silently ignores label_smoothing for ipo/hinge; we refuse it, in the loss and at config build."""
    lp = PreferenceLogps(PC, PR, NC, NR, RC, RR)
    with pytest.raises(ValueError, match=f"{loss!r} preference loss has no label smoothing"):
        dpo_loss(loss, lp, beta=0.1, label_smoothing=0.1)
    with pytest.raises(ValueError, match="no label smoothing"):
        DPOLoss(loss, label_smoothing=0.1)
    with pytest.raises(ValueError, match=r"label_smoothing must be in \[0, 0.5\]"):
        DPOLoss("dpo", label_smoothing=0.7)


def test_unknown_and_missing_reference() -> None:
    with pytest.raises(KeyError, match="unknown preference loss"):
        dpo_loss("kto", PreferenceLogps(PC, PR, NC, NR))
    with pytest.raises(ValueError, match="needs reference"):
        dpo_loss("dpo", PreferenceLogps(PC, PR, NC, NR))
