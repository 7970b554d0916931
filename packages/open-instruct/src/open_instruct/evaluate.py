"""Held-out preference accuracy: how often a model gives the chosen completion a higher summed
log-prob than the rejected one (the margin log p(chosen) - log p(rejected) > 0)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from open_instruct.data.packing import collate, pack_units, row_length, unit_lengths
from open_instruct.data.tokenize import TokenizedData
from open_instruct.logprobs import model_sequence_logprobs


@torch.no_grad()
def pair_logps(model: torch.nn.Module, data: TokenizedData, units: Sequence[int] | None = None, *,
               max_length: int = 2048, rows_per_batch: int = 8, pad_id: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Summed log-probs ``[n, 2]`` (chosen, rejected) and token counts ``[n, 2]`` of the given pairs."""
    assert data.kind == "dpo"
    units = np.arange(data.num_examples) if units is None else np.asarray(units)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    sums = np.zeros(data.num_sequences)
    counts = np.zeros(data.num_sequences, dtype=np.int64)
    packed = pack_units(unit_lengths(data)[units], row_length(data, max_length))
    rows = [[int(units[i]) for i in row] for row in packed]
    for i in range(0, len(rows), rows_per_batch):
        batch = {k: v.to(device) for k, v in collate(data, rows[i:i + rows_per_batch], pad_id=pad_id).items()}
        s, c = model_sequence_logprobs(model, batch)
        idx = batch["seq_index"].cpu().numpy()
        sums[idx], counts[idx] = s.double().cpu().numpy(), c.cpu().numpy()
    model.train(was_training)
    pick = np.stack([2 * units, 2 * units + 1], axis=1)
    return sums[pick], counts[pick]


def accuracy_from_logps(sums: np.ndarray, counts: np.ndarray) -> dict[str, float]:
    """Accuracy (summed log-prob margin > 0), the same with per-token means, and the mean margin."""
    margin = sums[:, 0] - sums[:, 1]
    avg_margin = sums[:, 0] / counts[:, 0] - sums[:, 1] / counts[:, 1]
    return {"accuracy": float((margin > 0).mean()), "accuracy_length_normalized": float((avg_margin > 0).mean()),
            "margin": float(margin.mean()), "pairs": int(len(margin))}


def preference_accuracy(model: torch.nn.Module, data: TokenizedData, units: Sequence[int] | None = None,
                        **kwargs) -> dict[str, float]:
    return accuracy_from_logps(*pair_logps(model, data, units, **kwargs))


def paired_comparison(before: np.ndarray, after: np.ndarray) -> dict[str, float]:
    """Two models' margins on the same pairs: how many pairs only ``after`` gets right (``gained``),
    how many only ``before`` does (``lost``), and the exact two-sided McNemar p-value: under "neither
    model is better" each discordant pair is a fair coin, so p = min(1, 2 P[Binomial(n, 1/2) <= min])
    with n = gained + lost. Pairs both get right or both get wrong carry no information about the
    difference, which is why this is far more sensitive than comparing two accuracies."""
    a, b = np.asarray(before) > 0, np.asarray(after) > 0
    if a.shape != b.shape:
        raise ValueError(f"before has {a.shape[0]} pairs, after {b.shape[0]}: compare the same pairs")
    gained, lost = int((b & ~a).sum()), int((a & ~b).sum())
    n, k = gained + lost, min(gained, lost)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0 ** n if n else 1.0
    return {"gained": gained, "lost": lost, "p_value": min(1.0, 2.0 * tail)}
