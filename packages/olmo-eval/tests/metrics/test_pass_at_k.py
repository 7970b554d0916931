"""The unbiased pass@k estimator against the closed form 1 - C(n-c, k) / C(n, k)."""

from __future__ import annotations

from math import comb

import pytest

from olmo_eval.metrics.pass_at_k import mean_pass_at_k, pass_at_k


def test_matches_binomial_closed_form() -> None:
    for n in range(1, 12):
        for c in range(n + 1):
            for k in range(1, n + 1):
                expected = 1 - comb(n - c, k) / comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_hand_computed_values() -> None:
    assert pass_at_k(5, 2, 1) == pytest.approx(0.4)
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)  # 1 - 3/10
    assert pass_at_k(5, 0, 3) == 0.0
    assert pass_at_k(5, 5, 1) == 1.0
    assert mean_pass_at_k([(5, 2), (5, 0)], 1) == pytest.approx(0.2)


def test_bad_arguments_refused() -> None:
    with pytest.raises(ValueError, match="at least 3 samples"):
        pass_at_k(2, 1, 3)
    with pytest.raises(ValueError):
        pass_at_k(2, 3, 1)
