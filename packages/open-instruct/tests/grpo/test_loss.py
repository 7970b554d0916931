"""GRPO's advantages and loss: a closed form on a toy group, TRL 1.16's own loss code on the same inputs
(run in its pinned environment, ``trl_grpo_peer.py``), and the loss types' normalizations."""

from __future__ import annotations

import json
import math
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from trl_peer import PEER as TRL
from trl_peer import harness

from open_instruct.grpo.loss import group_advantages, grpo_loss, loss_count

PEER_SCRIPT = Path(__file__).with_name("trl_grpo_peer.py")


def test_group_advantages_closed_form() -> None:
    # two groups of 4: rewards {1, 0, 0, 1} (mean 1/2, sample std sqrt(1/3)) and a flat group
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    a = 0.5 / (math.sqrt(1 / 3) + 1e-4)
    expected = [a, -a, -a, a, 0.0, 0.0, 0.0, 0.0]
    assert group_advantages(rewards, 4).tolist() == pytest.approx(expected, abs=1e-7)
    # Dr. GRPO: centred, not scaled
    assert group_advantages(rewards, 4, scale=False).tolist() == pytest.approx([.5, -.5, -.5, .5, 0, 0, 0, 0])
    # fractional rewards, a group of 3: mean 0.5, sample std 0.5
    assert group_advantages(torch.tensor([0.0, 0.5, 1.0]), 3).tolist() == pytest.approx(
        [-0.5 / 0.5001, 0.0, 0.5 / 0.5001], abs=1e-7)
    with pytest.raises(ValueError, match="whole groups"):
        group_advantages(torch.ones(6), 4)


def _toy() -> dict[str, torch.Tensor]:
    """Sequence 0 (A = +1, two tokens): ratio 2 (clipped to 1.2) and ratio 1; sequence 1 (A = -1, one
    token and one padding): ratio 1/2 (clipped to 0.8). The reference is twice as likely as the policy on
    the first token of each sequence (k3 = 2 - ln 2 - 1) and equal elsewhere (k3 = 0)."""
    lp = torch.tensor([[math.log(0.5), math.log(0.3)], [math.log(0.25), -7.0]], dtype=torch.float64)
    old = torch.tensor([[math.log(0.25), math.log(0.3)], [math.log(0.5), -1.0]], dtype=torch.float64)
    ref = lp.clone()
    ref[:, 0] += math.log(2.0)
    return {"logps": lp.requires_grad_(), "old_logps": old, "ref_logps": ref,
            "advantages": torch.tensor([1.0, -1.0], dtype=torch.float64),
            "mask": torch.tensor([[1, 1], [1, 0]], dtype=torch.float64)}


@pytest.mark.parametrize("loss_type", ["grpo", "dapo", "dr_grpo"])
def test_grpo_loss_closed_form(loss_type) -> None:
    t = _toy()
    beta, k3 = 0.1, 2.0 - math.log(2.0) - 1.0
    tok = [[-min(2.0, 1.2) + beta * k3, -1.0], [-min(-0.5, -0.8) + beta * k3]]  # per-token losses
    expected = {"grpo": (sum(tok[0]) / 2 + tok[1][0], 2.0),
                "dapo": (sum(tok[0]) + tok[1][0], 3.0),
                "dr_grpo": (sum(tok[0]) + tok[1][0], 2.0 * 16)}[loss_type]
    loss_sum, count, metrics = grpo_loss(t["logps"], t["old_logps"], t["ref_logps"], t["advantages"], t["mask"],
                                         beta=beta, loss_type=loss_type, max_completion_length=16)
    assert float(loss_sum.detach()) == pytest.approx(expected[0], abs=1e-12)
    assert count == expected[1]
    # gradient: a clipped token's policy term is flat; the unclipped one gives -ratio * A; the k3 term
    # gives beta * (1 - exp(ref - logp)) = beta * (1 - 2) on the first tokens, 0 where ref == logp
    (loss_sum / count).backward()
    w = {"grpo": [[0.5, 0.5], [1.0, 0.0]], "dapo": [[1, 1], [1, 0]], "dr_grpo": [[1, 1], [1, 0]]}[loss_type]
    raw = [[-beta, -1.0], [-beta, 0.0]]
    want = [[raw[i][j] * w[i][j] / count for j in range(2)] for i in range(2)]
    assert t["logps"].grad.tolist() == [pytest.approx(r, abs=1e-12) for r in want]
    if loss_type == "dapo":  # token means: one of 3 tokens clipped high, one low
        assert float(metrics["clip_ratio/high"]) == 1.0 and float(metrics["clip_ratio/low"]) == 1.0
        assert float(metrics["kl"]) == pytest.approx(2 * k3)


def test_ratio_is_one_without_old_logps() -> None:
    t = _toy()
    a, _, m = grpo_loss(t["logps"], None, None, t["advantages"], t["mask"], beta=0.0, loss_type="dapo")
    assert float(a.detach()) == pytest.approx(-1.0 - 1.0 + 1.0) and float(m["ratio"]) == pytest.approx(3.0)
    with pytest.raises(ValueError, match="needs ref_logps"):
        grpo_loss(t["logps"], None, None, t["advantages"], t["mask"], beta=0.1)
    with pytest.raises(ValueError, match="max_completion_length"):
        loss_count("dr_grpo", t["mask"])
    with pytest.raises(ValueError, match="unknown"):
        loss_count("ppo", t["mask"])


# -- parity with TRL ------------------------------------------------------------------------------


def _inputs(seed: int = 20) -> dict[str, np.ndarray]:
    g = np.random.default_rng(seed)
    b, n = 8, 9
    lengths = g.integers(1, n + 1, size=b)
    mask = (np.arange(n)[None, :] < lengths[:, None]).astype(np.float64)
    logps = -g.exponential(1.5, size=(b, n))
    old = logps + g.normal(0, 0.35, size=(b, n))  # ratios well inside and outside [0.8, 1.28]
    ref = logps + g.normal(0, 0.5, size=(b, n))
    rewards = torch.tensor(g.integers(0, 2, size=b), dtype=torch.float64)
    adv = group_advantages(rewards, 4).double().numpy()
    return {"logps": logps, "old_logps": old, "ref_logps": ref, "mask": mask, "advantages": adv}


CASES = [
    # (our loss_type, TRL's loss_type, beta, clip_low, clip_high, kl_ratio_correction, no_old)
    ("grpo", "grpo", 0.0, 0.2, 0.2, False, False),
    ("grpo", "grpo", 0.04, 0.2, 0.28, False, False),
    ("grpo", "grpo", 0.04, 0.2, 0.28, True, False),
    ("dapo", "dapo", 0.0, 0.2, 0.28, False, False),
    ("dapo", "dapo", 0.04, 0.2, 0.28, True, False),
    ("dapo", "bnpo", 0.04, 0.2, 0.2, False, False),
    ("dr_grpo", "dr_grpo", 0.0, 0.2, 0.2, False, False),
    ("dr_grpo", "dr_grpo", 0.04, 0.2, 0.28, False, False),
    ("grpo", "grpo", 0.04, 0.2, 0.2, False, True),
    ("dapo", "dapo", 0.0, 0.2, 0.2, False, True),
]
MAX_LEN = 12


@pytest.fixture(scope="module")
def trl_python() -> Path:
    try:
        return TRL.python
    except Exception as e:  # noqa: BLE001 - any install failure
        if os.environ.get("CI") == "true":
            pytest.fail(f"the TRL peer is missing under CI: {e}")
        pytest.skip(f"the TRL peer cannot be installed here: {e}")


def test_loss_and_gradient_match_trl(trl_python) -> None:
    x = _inputs()
    cases = [{"loss_type": theirs, "beta": beta, "clip_low": lo, "clip_high": hi, "kl_ratio_correction": corr,
              "no_old": no_old, "max_completion_length": MAX_LEN}
             for _, theirs, beta, lo, hi, corr, no_old in CASES]
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "in.npz", cases=json.dumps(cases), **x)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        proc = subprocess.run([str(trl_python), str(PEER_SCRIPT), str(Path(tmp) / "in.npz"), str(Path(tmp) / "out.json")],
                              capture_output=True, text=True, timeout=300, env={**env, **harness.OFFLINE_ENV})
        assert proc.returncode == 0, proc.stderr[-4000:]
        theirs = json.loads((Path(tmp) / "out.json").read_text())
    worst = {}
    for (ours_type, trl_type, beta, lo, hi, corr, no_old), their in zip(CASES, theirs):
        logps = torch.tensor(x["logps"], requires_grad=True)
        loss_sum, count, _ = grpo_loss(logps, None if no_old else torch.tensor(x["old_logps"]),
                                       torch.tensor(x["ref_logps"]), torch.tensor(x["advantages"]),
                                       torch.tensor(x["mask"]), beta=beta, clip_low=lo, clip_high=hi,
                                       loss_type=ours_type, max_completion_length=MAX_LEN, kl_ratio_correction=corr)
        loss = loss_sum / count
        loss.backward()
        diff = max(abs(float(loss.detach()) - their["loss"]),
                   float((logps.grad - torch.tensor(their["grad"], dtype=torch.float64)).abs().max()))
        worst[trl_type] = max(worst.get(trl_type, 0.0), diff)
        assert diff < 1e-5, (ours_type, trl_type, beta, float(loss.detach()), their["loss"])
        assert abs(float(loss.detach())) > 1e-3  # a real loss, not a vanishing one
    print("max |ours - TRL| per TRL loss_type (loss and d loss / d logps):", worst)
