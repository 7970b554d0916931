"""Distinct values of a 1-D array, without ``np.unique``.

``np.unique`` (NumPy 2.x) asks ``np.ma.is_masked`` about its input, and that first call imports
``numpy.ma``: about 6 MiB of resident memory in every process that calls it, which is a tenth of a
Bloom dedup owner's or a MinHash worker's peak. A sort and a comparison of neighbours give the same
values (``np.unique``'s default: sorted) and load nothing."""

from __future__ import annotations

import numpy as np


def _first_of_runs(s: np.ndarray) -> np.ndarray:
    keep = np.empty(len(s), dtype=bool)
    keep[:1] = True
    np.not_equal(s[1:], s[:-1], out=keep[1:])
    return keep


def sorted_unique(a: np.ndarray) -> np.ndarray:
    """The distinct values of ``a``, sorted (``np.unique(a)`` for a 1-D array)."""
    s = np.sort(a)
    return s[_first_of_runs(s)] if len(s) else s


def count_unique(a: np.ndarray) -> int:
    """How many distinct values ``a`` holds (``len(np.unique(a))``)."""
    if len(a) == 0:
        return 0
    return int(np.count_nonzero(_first_of_runs(np.sort(a))))
