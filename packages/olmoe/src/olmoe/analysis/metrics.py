"""The analyses as pure functions of top-k expert indices.

Notation: ``idx [N, k]`` are the experts chosen for ``N`` probe tokens by one layer (order within a
row does not matter), ``E`` the number of experts."""

from __future__ import annotations

import itertools

import numpy as np


def router_saturation(idx_t: np.ndarray, idx_final: np.ndarray) -> float:
    """Fraction of the final checkpoint's top-k experts already chosen at checkpoint t:
    ``(1 / (N k)) * sum_n |TopK_t(n) ∩ TopK_final(n)|`` (OLMoE, eq. 4). 1 when routing has settled."""
    idx_t, idx_final = np.asarray(idx_t), np.asarray(idx_final)
    if idx_t.shape != idx_final.shape or idx_t.ndim != 2:
        raise ValueError(f"router_saturation: shapes {idx_t.shape} and {idx_final.shape} must be equal [N, k]")
    n, k = idx_final.shape
    if n == 0:
        return float("nan")
    hits = (idx_final[:, :, None] == idx_t[:, None, :]).any(-1).sum()
    return float(hits) / (n * k)


def expert_counts(idx: np.ndarray, num_experts: int) -> np.ndarray:
    """Tokens routed to each expert (each token counts once per expert it chose)."""
    return np.bincount(np.asarray(idx).reshape(-1), minlength=num_experts)


def coactivation_counts(idx: np.ndarray, num_experts: int) -> np.ndarray:
    """``C[i, j]``: tokens that chose both ``i`` and ``j`` (``i != j``), counting each token's
    ``k(k-1)/2`` unordered pairs once; symmetric with a zero diagonal."""
    idx = np.asarray(idx)
    c = np.zeros((num_experts, num_experts), dtype=np.int64)
    for a, b in itertools.combinations(range(idx.shape[1]), 2):
        np.add.at(c, (idx[:, a], idx[:, b]), 1)
    c = c + c.T
    np.fill_diagonal(c, 0)
    return c


def coactivation(idx: np.ndarray, num_experts: int) -> np.ndarray:
    """``A[i, j] = C[i, j] / N_i``: of the tokens routed to expert ``i``, the fraction also routed to
    ``j`` (OLMoE, figure 27); rows of unused experts are 0."""
    c = coactivation_counts(idx, num_experts).astype(np.float64)
    n = expert_counts(idx, num_experts).astype(np.float64)
    return np.divide(c, n[:, None], out=np.zeros_like(c), where=n[:, None] > 0)


def domain_specialization(idx: np.ndarray, groups: np.ndarray, num_experts: int) -> dict[str, np.ndarray]:
    """For each group (e.g. a document source), the share of its token-expert assignments that went
    to each expert: ``S[g, e] = N_{g,e} / (k N_g)``. Uniform routing gives ``1/E`` everywhere."""
    idx, groups = np.asarray(idx), np.asarray(groups)
    out = {}
    for g in sorted(set(groups.tolist())):
        sel = idx[groups == g]
        out[str(g)] = expert_counts(sel, num_experts) / max(sel.size, 1)
    return out


def vocabulary_specialization(idx: np.ndarray, token_ids: np.ndarray, num_experts: int, *,
                              min_count: int = 5) -> list[dict[str, float | int]]:
    """Per token id seen at least ``min_count`` times: the expert that most often is among its top-k
    and the fraction of its occurrences routed there (``N_{x,e} / N_x``, OLMoE section 5.4); 1 means
    the token always goes to that expert. Sorted by that fraction, highest first."""
    idx, token_ids = np.asarray(idx), np.asarray(token_ids)
    order = np.argsort(token_ids, kind="stable")
    ids_sorted, idx_sorted = token_ids[order], idx[order]
    uniq, starts, counts = np.unique(ids_sorted, return_index=True, return_counts=True)
    rows = []
    for tok, s, n in zip(uniq, starts, counts):
        if n < min_count:
            continue
        per_expert = expert_counts(idx_sorted[s:s + n], num_experts)
        e = int(per_expert.argmax())
        rows.append({"token_id": int(tok), "count": int(n), "expert": e, "fraction": float(per_expert[e] / n)})
    rows.sort(key=lambda r: (-r["fraction"], -r["count"], r["token_id"]))
    return rows
