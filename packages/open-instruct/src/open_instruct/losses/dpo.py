"""Preference losses (DPO and relatives) as pure functions of sequence log-probabilities.

Every loss takes a ``PreferenceLogps`` holding, per pair, the *summed* log-probs of the chosen and
rejected completions under the policy (and the reference), plus the completions' token counts, so
one reference cache serves every loss. Notation, per pair:

    pi_c, pi_r   = sum_t log pi(y_t | x, y_<t) over the chosen / rejected completion
    ref_c, ref_r = the same under the frozen reference model
    n_c, n_r     = number of completion tokens (for length-normalised variants: avg = sum / n)
    sigma        = the logistic function, log sigma(z) = -softplus(-z)

Each function returns ``(losses [P], chosen_rewards [P], rejected_rewards [P])``; the training
loss is the mean over the pairs of the global batch (the trainer divides the sum by the pair count).
Formulas follow TRL's ``DPOTrainer.dpo_loss`` / ``CPOTrainer`` and open-instruct's ``dpo_norm``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

LossFn = Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
DPO_LOSSES: dict[str, LossFn] = {}

#: Losses whose value with policy == reference (or with no preference yet) is ln 2.
LN2_AT_START = ("dpo", "dpo_norm")


def register_dpo_loss(name: str) -> Callable[[LossFn], LossFn]:
    def wrap(fn: LossFn) -> LossFn:
        DPO_LOSSES[name] = fn
        return fn
    return wrap


@dataclass
class PreferenceLogps:
    policy_chosen: torch.Tensor
    policy_rejected: torch.Tensor
    chosen_tokens: torch.Tensor
    rejected_tokens: torch.Tensor
    ref_chosen: torch.Tensor | None = None
    ref_rejected: torch.Tensor | None = None

    def avg(self, x: torch.Tensor, chosen: bool) -> torch.Tensor:
        return x / (self.chosen_tokens if chosen else self.rejected_tokens).to(x.dtype)

    def require_reference(self, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
        if self.ref_chosen is None or self.ref_rejected is None:
            raise ValueError(f"the {loss!r} loss needs reference log-probs")
        return self.ref_chosen, self.ref_rejected


#: Losses with no label-smoothed form (TRL ignores ``label_smoothing`` for them with a warning; we refuse it,
#: so a config asking for smoothing never trains something else than it says).
NO_LABEL_SMOOTHING = ("ipo", "hinge")


def check_label_smoothing(loss: str, label_smoothing: float) -> None:
    if label_smoothing and loss in NO_LABEL_SMOOTHING:
        raise ValueError(f"the {loss!r} preference loss has no label smoothing; "
                         f"set label_smoothing to 0 (got {label_smoothing})")
    if not 0.0 <= label_smoothing <= 0.5:  # past 0.5 the loss prefers the rejected completion
        raise ValueError(f"label_smoothing must be in [0, 0.5] (got {label_smoothing})")


def _sigmoid_loss(z: torch.Tensor, label_smoothing: float) -> torch.Tensor:
    return -(1 - label_smoothing) * F.logsigmoid(z) - label_smoothing * F.logsigmoid(-z)


@register_dpo_loss("dpo")
def sigmoid_dpo(lp: PreferenceLogps, *, beta: float = 0.1, label_smoothing: float = 0.0, **_):
    """Sigmoid DPO (Rafailov et al. 2023), with conservative label smoothing eps (Mitchell 2023):

        h    = (pi_c - pi_r) - (ref_c - ref_r)
        loss = -(1 - eps) * log sigma(beta * h) - eps * log sigma(-beta * h)
        reward_c = beta * (pi_c - ref_c),  reward_r = beta * (pi_r - ref_r)

    With policy == reference, h = 0 and loss = ln 2 for every eps."""
    ref_c, ref_r = lp.require_reference("dpo")
    h = (lp.policy_chosen - lp.policy_rejected) - (ref_c - ref_r)
    return (_sigmoid_loss(beta * h, label_smoothing), beta * (lp.policy_chosen - ref_c).detach(),
            beta * (lp.policy_rejected - ref_r).detach())


@register_dpo_loss("dpo_norm")
def length_normalized_dpo(lp: PreferenceLogps, *, beta: float = 5.0, label_smoothing: float = 0.0, **_):
    """Length-normalised DPO (Tulu 3's ``dpo_norm``): sigmoid DPO on per-token average log-probs,

        h    = (pi_c / n_c - pi_r / n_r) - (ref_c / n_c - ref_r / n_r)
        loss = -(1 - eps) * log sigma(beta * h) - eps * log sigma(-beta * h)
        reward_c = beta * (pi_c - ref_c) / n_c,  reward_r = beta * (pi_r - ref_r) / n_r

    With policy == reference the loss is ln 2. Tulu 3 used beta = 5."""
    ref_c, ref_r = lp.require_reference("dpo_norm")
    pc, pr = lp.avg(lp.policy_chosen, True), lp.avg(lp.policy_rejected, False)
    rc, rr = lp.avg(ref_c, True), lp.avg(ref_r, False)
    h = (pc - pr) - (rc - rr)
    return _sigmoid_loss(beta * h, label_smoothing), beta * (pc - rc).detach(), beta * (pr - rr).detach()


@register_dpo_loss("ipo")
def ipo(lp: PreferenceLogps, *, beta: float = 0.1, label_smoothing: float = 0.0, **_):
    """IPO (Azar et al. 2023), on per-token average log-probs as TRL computes it:

        h    = (pi_c / n_c - pi_r / n_r) - (ref_c / n_c - ref_r / n_r)
        loss = (h - 1 / (2 * beta))^2
        reward_c = beta * (pi_c - ref_c) / n_c,  reward_r = beta * (pi_r - ref_r) / n_r

    With policy == reference the loss is 1 / (4 beta^2), not ln 2."""
    check_label_smoothing("ipo", label_smoothing)
    ref_c, ref_r = lp.require_reference("ipo")
    pc, pr = lp.avg(lp.policy_chosen, True), lp.avg(lp.policy_rejected, False)
    rc, rr = lp.avg(ref_c, True), lp.avg(ref_r, False)
    h = (pc - pr) - (rc - rr)
    return (h - 1 / (2 * beta)) ** 2, beta * (pc - rc).detach(), beta * (pr - rr).detach()


@register_dpo_loss("simpo")
def simpo(lp: PreferenceLogps, *, beta: float = 2.0, gamma: float = 0.5, label_smoothing: float = 0.0, **_):
    """SimPO (Meng et al. 2024), reference-free, as TRL's ``CPOTrainer(loss_type="simpo")``:

        h    = pi_c / n_c - pi_r / n_r - gamma / beta
        loss = -(1 - eps) * log sigma(beta * h) - eps * log sigma(-beta * h)
        reward_c = beta * pi_c / n_c,  reward_r = beta * pi_r / n_r

    No reference, so no ln 2 at the start (it is ln 2 only where the margin equals gamma / beta)."""
    pc, pr = lp.avg(lp.policy_chosen, True), lp.avg(lp.policy_rejected, False)
    h = pc - pr - gamma / beta
    return _sigmoid_loss(beta * h, label_smoothing), beta * pc.detach(), beta * pr.detach()


@register_dpo_loss("hinge")
def hinge(lp: PreferenceLogps, *, beta: float = 0.1, label_smoothing: float = 0.0, **_):
    """Hinge loss on the DPO margin (SLiC-style, as TRL's ``loss_type="hinge"``):

        h    = (pi_c - pi_r) - (ref_c - ref_r)
        loss = max(0, 1 - beta * h)
        reward_c = beta * (pi_c - ref_c),  reward_r = beta * (pi_r - ref_r)

    With policy == reference the loss is 1."""
    check_label_smoothing("hinge", label_smoothing)
    ref_c, ref_r = lp.require_reference("hinge")
    h = (lp.policy_chosen - lp.policy_rejected) - (ref_c - ref_r)
    return (torch.relu(1 - beta * h), beta * (lp.policy_chosen - ref_c).detach(),
            beta * (lp.policy_rejected - ref_r).detach())


def chosen_nll(lp: PreferenceLogps) -> torch.Tensor:
    """The RPO term (Pang et al. 2024, "Iterative Reasoning Preference Optimization"): the chosen
    completions' negative log-likelihood averaged over all their tokens in the batch,

        nll = -sum_p pi_c[p] / sum_p n_c[p]

    as TRL 1.16 computes its ``loss_type="sft"`` term (``-chosen_per_token_logps[chosen_mask].mean()``;
    RPO there is ``loss_type=["sigmoid", "sft"], loss_weights=[1, rpo_alpha]``). A token mean, not a mean
    of per-pair means: long chosen completions weigh more, as in TRL."""
    return -lp.policy_chosen.sum() / lp.chosen_tokens.sum().to(lp.policy_chosen.dtype)


def dpo_loss(name: str, lp: PreferenceLogps, **kwargs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    if name not in DPO_LOSSES:
        raise KeyError(f"unknown preference loss {name!r}; known: {sorted(DPO_LOSSES)}")
    return DPO_LOSSES[name](lp, **kwargs)


def needs_reference(name: str) -> bool:
    return name != "simpo"
