"""Ranked-classification metrics from per-choice sufficient statistics. Pure functions.

For one instance with choices ``c``: ``logprob[c]`` (summed log-prob of the continuation, nats),
``num_tokens[c]``, ``num_chars[c]``, ``num_bytes[c]`` (UTF-8) and, with PMI, ``uncond_logprob[c]``
(the same continuation after ``"Answer:"``). The prediction under each normalization is the first
argmax of:

* ``acc_raw``:       logprob
* ``acc_per_token``: logprob / num_tokens
* ``acc_per_char``:  logprob / num_chars
* ``acc_uncond``:    logprob - uncond_logprob   (pointwise mutual information)

``bits_per_byte`` is ``-logprob[gold] / (num_bytes[gold] * ln 2)``, averaged over instances.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

NORMALIZATIONS = ("acc_raw", "acc_per_token", "acc_per_char", "acc_uncond")


def choice_scores(normalization: str, logprob: Sequence[float], num_tokens: Sequence[int],
                  num_chars: Sequence[int], uncond_logprob: Sequence[float] | None = None) -> np.ndarray:
    lp = np.asarray(logprob, dtype=np.float64)
    if normalization == "acc_raw":
        return lp
    if normalization == "acc_per_token":
        return lp / np.maximum(np.asarray(num_tokens, dtype=np.float64), 1)
    if normalization == "acc_per_char":
        return lp / np.maximum(np.asarray(num_chars, dtype=np.float64), 1)
    if normalization == "acc_uncond":
        if uncond_logprob is None:
            raise ValueError("acc_uncond needs the unconditional log-probs")
        return lp - np.asarray(uncond_logprob, dtype=np.float64)
    raise KeyError(f"unknown normalization {normalization!r}; known: {', '.join(NORMALIZATIONS)}")


def instance_metrics(gold: int, logprob: Sequence[float], num_tokens: Sequence[int], num_chars: Sequence[int],
                     num_bytes: Sequence[int], uncond_logprob: Sequence[float] | None = None) -> dict[str, float]:
    """Correctness (0/1) under each normalization, predictions, and the gold continuation's bits per byte."""
    out: dict[str, float] = {}
    for norm in NORMALIZATIONS:
        if norm == "acc_uncond" and uncond_logprob is None:
            continue
        pred = int(np.argmax(choice_scores(norm, logprob, num_tokens, num_chars, uncond_logprob)))
        out[norm] = float(pred == gold)
        out[f"pred_{norm.removeprefix('acc_')}"] = pred
    out["bits_per_byte"] = -float(logprob[gold]) / (max(int(num_bytes[gold]), 1) * math.log(2))
    return out


def mean_metrics(per_instance: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean of each metric present in every instance (predictions are left out)."""
    if not per_instance:
        return {}
    keys = [k for k in per_instance[0] if not k.startswith("pred_") and all(k in m for m in per_instance)]
    return {k: float(np.mean([m[k] for m in per_instance])) for k in keys}


def bootstrap_ci(values: Sequence[float], *, num_samples: int = 1000, alpha: float = 0.05,
                 seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean (resampling instances with replacement)."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(num_samples, x.size))].mean(axis=1)
    return float(np.quantile(means, alpha / 2)), float(np.quantile(means, 1 - alpha / 2))


def perplexity_summary(nll_sum: float, num_tokens: int, num_bytes: int) -> dict[str, float]:
    """Token-weighted perplexity and bits per byte from summed negative log-likelihood (nats)."""
    return {"ppl": math.exp(nll_sum / max(num_tokens, 1)),
            "bits_per_byte": nll_sum / (max(num_bytes, 1) * math.log(2)),
            "nll_sum": nll_sum, "num_tokens": int(num_tokens), "num_bytes": int(num_bytes)}
