"""How a MinHash candidate pair (two documents sharing a band bucket) is scored before it joins a
cluster; the pair is joined when the score reaches the threshold. Registered by name
(``MinHashConfig.verify``):

- ``exact``: the Jaccard similarity of the two shingle sets (32-bit shingle hashes kept per document);
- ``signature``: the fraction of signature positions that agree (an estimate of it, +-0.04 at 0.8
  with 112 positions, so pairs near the threshold fall either way);
- ``none``: every candidate is joined, as datatrove does (precision is then the LSH curve's)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dolma_tools.dedupe.buckets import SignatureStore

Verifier = Callable[[SignatureStore, int, int], float]
VERIFIERS: dict[str, Verifier] = {}


def verifier(name: str) -> Callable[[Verifier], Verifier]:
    def register(fn: Verifier) -> Verifier:
        VERIFIERS[name] = fn
        return fn
    return register


def get_verifier(name: str) -> Verifier:
    try:
        return VERIFIERS[name]
    except KeyError:
        raise ValueError(f"minhash verify: unknown {name!r}; choose from {sorted(VERIFIERS)}") from None


@verifier("exact")
def exact_jaccard(store: SignatureStore, i: int, j: int) -> float:
    return store.jaccard(i, j)


@verifier("signature")
def signature_agreement(store: SignatureStore, i: int, j: int) -> float:
    return float(np.mean(store.signature(i) == store.signature(j)))


@verifier("none")
def no_check(store: SignatureStore, i: int, j: int) -> float:
    return 1.0
