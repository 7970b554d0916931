"""Held-out preference accuracy: how often a model gives the chosen completion a higher summed
log-prob than the rejected one (the margin log p(chosen) - log p(rejected) > 0)."""

from __future__ import annotations

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


def preference_accuracy(model: torch.nn.Module, data: TokenizedData, units: Sequence[int] | None = None,
                        **kwargs) -> dict[str, float]:
    sums, counts = pair_logps(model, data, units, **kwargs)
    margin = sums[:, 0] - sums[:, 1]
    avg_margin = sums[:, 0] / counts[:, 0] - sums[:, 1] / counts[:, 1]
    return {"accuracy": float((margin > 0).mean()), "accuracy_length_normalized": float((avg_margin > 0).mean()),
            "margin": float(margin.mean()), "pairs": int(len(margin))}
