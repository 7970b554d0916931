"""Metrics against hand-computed values."""

from __future__ import annotations

import math

import pytest

from olmo_eval.metrics import bootstrap_ci, choice_scores, instance_metrics, mean_metrics, perplexity_summary

# Three choices, gold = 1. By hand:
#   raw        [-2.0, -3.0, -9.0]                       -> argmax 0
#   per token  [-2/1, -3/1, -9/2]   = [-2, -3, -4.5]    -> argmax 0
#   per char   [-2/4, -3/12, -9/5]  = [-.5, -.25, -1.8] -> argmax 1
#   PMI        [-2+1, -3+4.5, -9+2] = [-1, 1.5, -7]     -> argmax 1
#   bits/byte of gold: 3 / (12 ln 2) = 0.36067376...
LP, NTOK, NCHAR, NBYTE, UNC = [-2.0, -3.0, -9.0], [1, 1, 2], [4, 12, 5], [4, 12, 5], [-1.0, -4.5, -2.0]


def test_each_normalization_by_hand() -> None:
    m = instance_metrics(1, LP, NTOK, NCHAR, NBYTE, UNC)
    assert (m["pred_raw"], m["pred_per_token"], m["pred_per_char"], m["pred_uncond"]) == (0, 0, 1, 1)
    assert (m["acc_raw"], m["acc_per_token"], m["acc_per_char"], m["acc_uncond"]) == (0.0, 0.0, 1.0, 1.0)
    assert m["bits_per_byte"] == pytest.approx(0.36067376022224085, rel=1e-12)


def test_per_token_differs_from_raw() -> None:
    # tokens [1, 3, 2]: per token [-2, -1, -4.5] -> argmax 1 while raw stays 0
    m = instance_metrics(1, LP, [1, 3, 2], NCHAR, NBYTE)
    assert m["pred_raw"] == 0 and m["pred_per_token"] == 1
    assert "acc_uncond" not in m


def test_pmi_can_prefer_a_lower_raw_score() -> None:
    # uncond [-5, -1, -2]: PMI [3, -2, -7] -> choice 0, although choice 0 is wrong
    m = instance_metrics(1, [-2.0, -1.5, -9.0], NTOK, NCHAR, NBYTE, [-5.0, -1.0, -2.0])
    assert m["pred_raw"] == 1 and m["pred_uncond"] == 0 and m["acc_uncond"] == 0.0


def test_ties_pick_the_first_choice() -> None:
    assert instance_metrics(1, [-1.0, -1.0], [1, 1], [2, 2], [2, 2])["pred_raw"] == 0


def test_choice_scores_rejects_unknown_and_missing_uncond() -> None:
    with pytest.raises(KeyError, match="acc_whatever"):
        choice_scores("acc_whatever", LP, NTOK, NCHAR)
    with pytest.raises(ValueError, match="unconditional"):
        choice_scores("acc_uncond", LP, NTOK, NCHAR)


def test_mean_and_bootstrap() -> None:
    rows = [{"acc_raw": 1.0, "pred_raw": 0}, {"acc_raw": 0.0, "pred_raw": 1}, {"acc_raw": 1.0, "pred_raw": 0},
            {"acc_raw": 1.0, "pred_raw": 2}]
    assert mean_metrics(rows) == {"acc_raw": 0.75}
    assert bootstrap_ci([0.5] * 10) == (0.5, 0.5)
    lo, hi = bootstrap_ci([r["acc_raw"] for r in rows] * 25, num_samples=500)
    assert 0.6 < lo < 0.75 < hi < 0.9
    assert bootstrap_ci([0, 1, 1, 0, 1], seed=3) == bootstrap_ci([0, 1, 1, 0, 1], seed=3)


def test_perplexity_summary_by_hand() -> None:
    s = perplexity_summary(10.0, 5, 20)
    assert s["ppl"] == pytest.approx(math.e ** 2)
    assert s["bits_per_byte"] == pytest.approx(10.0 / (20 * math.log(2)))
