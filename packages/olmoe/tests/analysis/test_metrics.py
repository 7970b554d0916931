"""The routing analyses against hand-computed examples."""

from __future__ import annotations

import numpy as np
import pytest

from olmoe.analysis.metrics import (
    coactivation,
    coactivation_counts,
    domain_specialization,
    router_saturation,
    vocabulary_specialization,
)


def test_router_saturation_by_hand() -> None:
    final = np.array([[0, 1], [2, 3], [4, 5]])
    earlier = np.array([[1, 0], [2, 6], [7, 6]])
    # token 0: {0,1} vs {1,0} -> 2 shared; token 1: {2,3} vs {2,6} -> 1; token 2: {4,5} vs {7,6} -> 0
    assert router_saturation(earlier, final) == pytest.approx(3 / 6)
    assert router_saturation(final, final) == 1.0
    with pytest.raises(ValueError, match="shapes"):
        router_saturation(earlier[:2], final)


def test_coactivation_pairs_by_hand() -> None:
    idx = np.array([[0, 1, 2], [0, 1, 3]])  # k = 3: three pairs per token
    c = coactivation_counts(idx, 4)
    assert c[0, 1] == c[1, 0] == 2 and c[0, 2] == 1 and c[2, 3] == 0 and c.trace() == 0
    assert c.sum() == 2 * 2 * 3  # two tokens x k(k-1)/2 pairs, counted in both directions
    a = coactivation(idx, 4)
    assert a[2, 0] == pytest.approx(1.0)  # whenever 2 is chosen, 0 is too
    assert a[0, 2] == pytest.approx(0.5)  # 0 was chosen twice, with 2 once


def test_domain_and_vocabulary_specialization_by_hand() -> None:
    idx = np.array([[0, 1], [0, 2], [3, 1], [3, 2]])
    sources = np.array(["code", "code", "books", "books"])
    d = domain_specialization(idx, sources, 4)
    assert d["code"].tolist() == [0.5, 0.25, 0.25, 0.0]
    assert d["books"].tolist() == [0.0, 0.25, 0.25, 0.5]
    tokens = np.array([7, 7, 7, 9])
    rows = vocabulary_specialization(idx, tokens, 4, min_count=2)
    assert rows == [{"token_id": 7, "count": 3, "expert": 0, "fraction": pytest.approx(2 / 3)}]
