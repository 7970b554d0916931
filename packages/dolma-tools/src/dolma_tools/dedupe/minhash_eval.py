"""MinHash quality against a planted truth (``dolma-tools synth-corpus``'s key file).

Recall: for each planted pair, whether both documents ended in one cluster, per band of their true
Jaccard (below the threshold a found pair is a false merge, so the rate should fall there).
Precision: each document marked duplicate is paired with the document kept for it, and the pair
counts as right when its exact Jaccard (over the run's shingle hashes) reaches the threshold;
``precision_planted`` is stricter and also requires the pair to be in the key file."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from dolma_tools.dedupe.buckets import SignatureStore
from dolma_tools.docio import iter_json_lines

EDGES = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)


def band_label(j: float, edges: tuple[float, ...] = EDGES) -> str:
    if j >= 1.0:
        return "1.0"
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        if lo <= j < hi:
            return f"{lo:.1f}-{hi:.1f}"
    return f"<{edges[0]:.1f}"


def evaluate(truth: str | Path, store: SignatureStore, offsets: list[int], roots: list[int], *,
             threshold: float) -> dict[str, Any]:
    path = Path(truth) / "truth.jsonl.gz" if Path(truth).is_dir() else Path(truth)
    pairs = [(t["a"], t["b"], float(t["jaccard"])) for _, t in iter_json_lines(path)]
    wanted = {x for a, b, _ in pairs for x in (a, b)}
    index: dict[str, int] = {}
    for f, base in enumerate(offsets):
        for k, (doc_id, _) in enumerate(store.ids(f)):
            if doc_id in wanted:
                index[doc_id] = base + k
    missing = wanted - index.keys()
    if missing:
        raise ValueError(f"{truth}: {len(missing)} ids of the key file are not in the documents, "
                         f"e.g. {sorted(missing)[0]!r}")
    planted: dict[tuple[int, int], float] = {}
    found: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for a, b, j in pairs:
        i, k = sorted((index[a], index[b]))
        planted[(i, k)] = j
        total[band_label(j)] += 1
        found[band_label(j)] += roots[i] == roots[k]
    predicted: Counter[str] = Counter()
    right = right_planted = dups = 0
    for i, r in enumerate(roots):
        if r == i:
            continue
        dups += 1
        j = store.jaccard(i, r)
        predicted[band_label(j)] += 1
        right += j >= threshold
        right_planted += j >= threshold and planted.get((r, i), -1.0) >= threshold
    labels = sorted(set(total) | set(predicted), key=lambda s: (s == "1.0", s))
    above = [(a, b, j) for a, b, j in pairs if j >= threshold]
    hits = sum(roots[index[a]] == roots[index[b]] for a, b, _ in above)
    return {
        "threshold": threshold,
        "precision": round(right / dups, 4) if dups else None,
        "precision_planted": round(right_planted / dups, 4) if dups else None,
        "recall": round(hits / len(above), 4) if above else None,
        "planted_pairs": len(pairs), "predicted_pairs": dups,
        "bands": {lab: {"planted_pairs": total[lab], "found": found[lab],
                        "found_rate": round(found[lab] / total[lab], 4) if total[lab] else None,
                        "predicted_pairs": predicted[lab]} for lab in labels}}
