"""Preference losses against TRL's formulas, re-derived here independently in float64 `math`.

TRL (DPOTrainer.dpo_loss, CPOTrainer for SimPO), per pair, with logits = (pi_c - pi_r) - (ref_c - ref_r):
  sigmoid: -logsigmoid(beta*logits)*(1-ls) - logsigmoid(-beta*logits)*ls
  hinge:   relu(1 - beta*logits)
  ipo:     (logits - 1/(2*beta))**2, with every log-prob averaged over completion tokens
  simpo:   logits = avg_c - avg_r - gamma/beta; the sigmoid form above
and open-instruct's dpo_norm: sigmoid on averaged log-probs. Rewards: beta*(pi - ref).
RPO (``rpo_alpha``) is checked against TRL 1.16's own ``DPOTrainer._compute_loss`` run in its pinned
environment (``trl_dpo_peer.py``), where it is ``loss_type=["sigmoid", "sft"], loss_weights=[1, alpha]``."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch

from open_instruct.losses.dpo import DPO_LOSSES, LN2_AT_START, PreferenceLogps, dpo_loss
from open_instruct.train.config import PreferenceConfig
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


# TRL's pinned environment is the one tests/grpo already builds (same requirements, so the same cached venv).
_spec = importlib.util.spec_from_file_location("trl_peer", Path(__file__).parents[1] / "grpo" / "trl_peer.py")
trl_peer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(trl_peer)
PEER_SCRIPT = Path(__file__).with_name("trl_dpo_peer.py")


@pytest.fixture(scope="module")
def trl_python() -> Path:
    try:
        return trl_peer.PEER.python
    except Exception as e:  # noqa: BLE001 - any install failure
        if os.environ.get("CI") == "true":
            pytest.fail(f"the TRL peer is missing under CI: {e}")
        pytest.skip(f"the TRL peer cannot be installed here: {e}")


def _token_inputs() -> dict[str, np.ndarray]:
    """Per-token log-probs of P pairs (chosen rows, then rejected rows), ragged completion masks."""
    g = torch.Generator().manual_seed(1)
    t = 10
    lengths = torch.randint(1, t + 1, (2 * P,), generator=g)
    mask = (torch.arange(t)[None, :] < lengths[:, None]).to(torch.float64)
    logps = -torch.rand(2 * P, t, generator=g, dtype=torch.float64) * 4 * mask
    return {"logps": logps.numpy(), "mask": mask.numpy(), "ref_chosen": RC.numpy(), "ref_rejected": RR.numpy()}


# (our loss, rpo_alpha, beta) -> TRL's (loss_type, loss_weights)
RPO_CASES = [("dpo", None, 0.1, ["sigmoid"], [1.0]), ("dpo", 1.0, 0.1, ["sigmoid", "sft"], [1.0, 1.0]),
             ("dpo", 0.5, 0.5, ["sigmoid", "sft"], [1.0, 0.5]), ("ipo", 1.0, 0.1, ["ipo", "sft"], [1.0, 1.0]),
             ("hinge", 2.0, 0.1, ["hinge", "sft"], [1.0, 2.0])]


def test_rpo_matches_trl(trl_python) -> None:
    """Loss and d loss / d (per-token log-prob) equal TRL 1.16's on the same inputs within 1e-5."""
    x = _token_inputs()
    cases = [{"loss_type": lt, "loss_weights": lw, "beta": beta} for _, _, beta, lt, lw in RPO_CASES]
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "in.npz", cases=json.dumps(cases), **x)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        proc = subprocess.run([str(trl_python), str(PEER_SCRIPT), str(Path(tmp) / "in.npz"), str(Path(tmp) / "out.json")],
                              capture_output=True, text=True, timeout=300, env={**env, **trl_peer.harness.OFFLINE_ENV})
        assert proc.returncode == 0, proc.stderr[-4000:]
        theirs = json.loads((Path(tmp) / "out.json").read_text())
    mask = torch.tensor(x["mask"])
    counts = mask.sum(1).long()
    for (loss, alpha, beta, lt, _), their in zip(RPO_CASES, theirs):
        tok = torch.tensor(x["logps"], requires_grad=True)
        sums = (tok * mask).sum(1)
        lp = PreferenceLogps(sums[:P], sums[P:], counts[:P], counts[P:], torch.tensor(x["ref_chosen"]),
                             torch.tensor(x["ref_rejected"]))
        out = DPOLoss(loss, beta=beta, rpo_alpha=alpha).from_logps(lp)
        value = out.loss_sum / out.num_target_tokens
        value.backward()
        grad = tok.grad * mask  # outside the completion neither side depends on the log-prob
        their_grad = torch.tensor(their["grad"], dtype=torch.float64) * mask
        value = float(value.detach())
        assert abs(value - their["loss"]) < 1e-5, (lt, value, their["loss"])
        assert float((grad - their_grad).abs().max()) < 1e-5, lt
        if alpha is not None:  # the NLL term is really there: without it the loss differs
            plain = DPOLoss(loss, beta=beta).from_logps(lp)
            assert value - float(plain.loss_sum / plain.num_target_tokens) > 0.1


def test_rpo_none_leaves_results_bit_identical() -> None:
    for dtype in (torch.float64, torch.float32):
        lp = PreferenceLogps(PC.to(dtype), PR.to(dtype), NC, NR, RC.to(dtype), RR.to(dtype))
        for name in sorted(DPO_LOSSES):
            out = DPOLoss(name, beta=0.3).from_logps(lp)
            assert torch.equal(out.loss_sum, dpo_loss(name, lp, beta=0.3)[0].sum()), name
            assert out.num_target_tokens == P and "nll/chosen" not in out.metrics
    assert PreferenceConfig().rpo_alpha is None and PreferenceConfig().build().rpo_alpha is None


def test_rpo_alpha_is_the_token_mean_nll() -> None:
    """rpo_alpha * (-sum pi_c / sum n_c) per pair, closed form; config passes it through; negatives refused."""
    lp = PreferenceLogps(PC, PR, NC, NR, RC, RR)
    out = PreferenceConfig(rpo_alpha=0.7).build().from_logps(lp)
    nll = -sum(float(v) for v in PC) / sum(int(n) for n in NC)
    base = sum(trl("dpo", i, 0.1)[0] for i in range(P)) / P
    assert float(out.loss_sum) / P == pytest.approx(base + 0.7 * nll, rel=1e-12)
    assert float(out.metrics["nll/chosen"]) / P == pytest.approx(nll, rel=1e-12)
    with pytest.raises(ValueError, match="rpo_alpha must be >= 0"):
        DPOLoss("dpo", rpo_alpha=-1.0)
