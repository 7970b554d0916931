"""The unbiased pass@k estimator of Chen et al. (2021): with ``n`` samples of which ``c`` pass,
``1 - C(n - c, k) / C(n, k)``, computed as a product to stay exact for large ``n``."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pass_at_k(n: int, c: int, k: int) -> float:
    if not 0 <= c <= n or k < 1:
        raise ValueError(f"pass_at_k needs 0 <= c <= n and k >= 1, got n={n}, c={c}, k={k}")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples, got n={n}")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(samples: Sequence[tuple[int, int]], k: int) -> float:
    """Mean over problems of pass@k, each given as ``(n, c)``."""
    if not samples:
        return 0.0
    return float(np.mean([pass_at_k(n, c, k) for n, c in samples]))
