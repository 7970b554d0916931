"""Packing several sequences into one row, with explicit document boundaries.

Boundaries are never inferred from eos tokens: every token carries the index of its document
(``doc_ids``), the model masks attention across documents with it, positions restart at 0 in each
document, and log-probs are summed per document by the same index. A DPO pair (chosen, rejected)
is one unit that is always placed in a single row, so its two sides share a forward pass.

A collated micro-batch is a dict of tensors:

* ``input_ids`` [B, T] (padding = ``pad_id``), ``labels`` [B, T] bool (token is a target),
* ``doc_ids`` [B, T] int64: document index within the micro-batch, ``-1`` on padding,
* ``position_ids`` [B, T]: position within the document,
* ``seq_index`` [D]: the dataset sequence each document came from (for DPO, ``2 * pair + side``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from open_instruct.data.tokenize import TokenizedData


def pack_units(unit_lengths: Sequence[int], max_length: int, *, open_rows: int = 64) -> list[list[int]]:
    """First-fit packing of units (examples or pairs) into rows of at most ``max_length`` tokens,
    keeping the input order within each row. Only the last ``open_rows`` rows are still filled, so
    the order of the data is roughly kept (and the cost stays linear)."""
    rows: list[list[int]] = []
    room: list[int] = []
    first_open = 0
    for u, n in enumerate(unit_lengths):
        n = int(n)
        if n > max_length:
            raise ValueError(f"unit {u} has {n} tokens, more than the row length {max_length}")
        for r in range(first_open, len(rows)):
            if room[r] >= n:
                rows[r].append(u)
                room[r] -= n
                break
        else:
            rows.append([u])
            room.append(max_length - n)
            first_open = max(0, len(rows) - open_rows)
    return rows


def row_length(data: TokenizedData, max_length: int) -> int:
    """Tokens per packed row: ``max_length`` bounds each sequence, so a DPO row must hold two."""
    return max_length * data.group_size


def unit_lengths(data: TokenizedData) -> np.ndarray:
    return data.lengths.reshape(-1, data.group_size).sum(axis=1)


def pack_dataset(data: TokenizedData, max_length: int, order: Sequence[int] | None = None) -> list[list[int]]:
    """Rows of unit indices (examples or pairs), units taken in ``order``; ``max_length`` is the
    per-sequence limit the data was tokenized with."""
    order = np.arange(data.num_examples) if order is None else np.asarray(order)
    rows = pack_units(unit_lengths(data)[order], row_length(data, max_length))
    return [[int(order[i]) for i in row] for row in rows]


def collate(data: TokenizedData, rows: Sequence[Sequence[int]], *, pad_id: int = 1,
            length: int | None = None) -> dict[str, torch.Tensor]:
    """One micro-batch: each row holds the given units (one unit per row = plain padding)."""
    g = data.group_size
    seqs = [[u * g + s for u in row for s in range(g)] for row in rows]
    lengths = data.lengths
    row_len = [int(sum(lengths[i] for i in row)) for row in seqs]
    T = length if length is not None else max(row_len)
    if max(row_len) > T:
        raise ValueError(f"a row has {max(row_len)} tokens, more than {T}")
    B = len(seqs)
    input_ids = np.full((B, T), pad_id, dtype=np.int64)
    labels = np.zeros((B, T), dtype=bool)
    doc_ids = np.full((B, T), -1, dtype=np.int64)
    position_ids = np.zeros((B, T), dtype=np.int64)
    seq_index = []
    for b, row in enumerate(seqs):
        t = 0
        for i in row:
            ids, lab = data.sequence(i)
            n = len(ids)
            input_ids[b, t:t + n] = ids
            labels[b, t:t + n] = lab
            # A document's first token is never a target: it would be predicted from the previous
            # document.
            labels[b, t] = False
            doc_ids[b, t:t + n] = len(seq_index)
            position_ids[b, t:t + n] = np.arange(n)
            seq_index.append(i)
            t += n
    return {"input_ids": torch.from_numpy(input_ids), "labels": torch.from_numpy(labels),
            "doc_ids": torch.from_numpy(doc_ids), "position_ids": torch.from_numpy(position_ids),
            "seq_index": torch.as_tensor(seq_index, dtype=torch.int64)}
