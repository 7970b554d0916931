"""Held-out preference accuracy and the paired comparison of two models on the same pairs."""

from __future__ import annotations

import math

import numpy as np
import pytest

from open_instruct.evaluate import accuracy_from_logps, paired_comparison


def test_accuracy_counts_strict_wins_and_normalises_by_length() -> None:
    # pair 0: chosen wins on sums and on means; pair 1: a tie loses; pair 2: chosen loses on the sum
    # (-6 < -4) but wins per token (-6/6 = -1 > -4/2 = -2)
    sums = np.array([[-1.0, -3.0], [-2.0, -2.0], [-6.0, -4.0]])
    counts = np.array([[1, 1], [2, 2], [6, 2]])
    out = accuracy_from_logps(sums, counts)
    assert out["accuracy"] == pytest.approx(1 / 3)
    assert out["accuracy_length_normalized"] == pytest.approx(2 / 3)
    assert out["margin"] == pytest.approx((2.0 + 0.0 - 2.0) / 3)
    assert out["pairs"] == 3


def test_paired_comparison_is_the_exact_mcnemar_test() -> None:
    before = np.array([1.0, 1.0, -1.0, -1.0, -1.0, 1.0, -2.0])
    after = np.array([1.0, -1.0, 1.0, 1.0, 1.0, 2.0, -1.0])
    out = paired_comparison(before, after)
    assert (out["gained"], out["lost"]) == (3, 1)
    # n = 4 discordant pairs, min = 1: 2 * (C(4,0) + C(4,1)) / 2^4 = 10/16
    assert out["p_value"] == pytest.approx(10 / 16)


def test_paired_comparison_one_sided_evidence_and_no_evidence() -> None:
    ten_gains = paired_comparison(np.full(10, -1.0), np.full(10, 1.0))
    assert ten_gains == {"gained": 10, "lost": 0, "p_value": pytest.approx(2 / 2 ** 10)}
    # symmetric counts are no evidence at all; identical models give no discordant pairs
    assert paired_comparison(np.array([1.0, -1.0]), np.array([-1.0, 1.0]))["p_value"] == 1.0
    assert paired_comparison(np.ones(5), np.ones(5)) == {"gained": 0, "lost": 0, "p_value": 1.0}


def test_paired_comparison_matches_the_normal_approximation_for_large_counts() -> None:
    # 60 gained, 30 lost: the continuity-corrected McNemar chi-square statistic
    # (|60 - 30| - 1)^2 / 90 approximates the exact p-value
    before = np.r_[np.full(60, -1.0), np.full(30, 1.0)]
    after = -before
    exact = paired_comparison(before, after)["p_value"]
    chi2 = (abs(60 - 30) - 1) ** 2 / 90
    approx = math.erfc(math.sqrt(chi2 / 2))
    assert exact == pytest.approx(approx, rel=0.15)
    assert exact < 0.01


def test_paired_comparison_needs_the_same_pairs() -> None:
    with pytest.raises(ValueError, match="same pairs"):
        paired_comparison(np.ones(3), np.ones(4))
