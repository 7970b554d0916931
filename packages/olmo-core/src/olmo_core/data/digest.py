"""Digests of what a step trained on, so a replay (``olmo-core data-order``) can be verified.

Each instance is hashed from its input ids; the batch digest hashes the instance digests in global
batch order, so it is the same whatever the world size or micro-batch size."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np


def instance_digest(input_ids: np.ndarray) -> bytes:
    return hashlib.sha256(np.ascontiguousarray(input_ids, dtype="<i8").tobytes()).digest()[:16]


def batch_digest(items: Iterable[tuple[int, bytes]]) -> str:
    """``items``: (position in the global batch, instance digest) from every rank, any order."""
    h = hashlib.sha256()
    for _pos, d in sorted(items):
        h.update(d)
    return h.hexdigest()[:16]
