"""The reference model's log-probs, computed once before DPO training and cached on disk.

For every sequence of a tokenized DPO dataset the cache holds the summed target log-prob (float64)
and the number of target tokens, so one cache serves every loss (summed or length-normalised). Its
key is a sha256 of the model's weights and config and of the tokenized data, so a changed model or
dataset never reuses stale numbers; the ``.npz`` is written under a temporary name and renamed.
During training the reference model need not be in memory at all."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from olmo_core.fileio import atomic_path
from open_instruct.data.packing import collate, pack_dataset
from open_instruct.data.tokenize import TokenizedData
from open_instruct.logprobs import model_sequence_logprobs

REF_CACHE_VERSION = 1


@dataclass
class ReferenceLogps:
    sums: np.ndarray  # float64 [num_sequences]
    counts: np.ndarray  # int64 [num_sequences]
    key: str = ""

    def lookup(self, seq_index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        idx = seq_index.cpu().numpy()
        return torch.from_numpy(self.sums[idx]), torch.from_numpy(self.counts[idx])


def model_fingerprint(model: torch.nn.Module) -> str:
    h = hashlib.sha256()
    config = getattr(model, "config", None)
    if config is not None and hasattr(config, "to_dict"):
        h.update(json.dumps(config.to_dict(), sort_keys=True, default=str).encode())
    for name, t in sorted(model.state_dict().items()):
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(t.detach().to("cpu").contiguous().view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def data_fingerprint(data: TokenizedData) -> str:
    h = hashlib.sha256()
    for k, a in data.arrays().items():
        if k != "source":
            h.update(k.encode())
            h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@torch.no_grad()
def compute_reference_logps(model: torch.nn.Module, data: TokenizedData, *, max_length: int = 2048,
                            rows_per_batch: int = 8, pad_id: int = 1, progress: bool = False) -> ReferenceLogps:
    """One forward pass over the whole dataset, packed, in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    sums = np.zeros(data.num_sequences, dtype=np.float64)
    counts = np.zeros(data.num_sequences, dtype=np.int64)
    rows = pack_dataset(data, max_length)
    batches = [rows[i:i + rows_per_batch] for i in range(0, len(rows), rows_per_batch)]
    iterator = batches
    if progress:
        from rich.progress import track

        iterator = track(batches, description="reference log-probs")
    for rows_b in iterator:
        batch = {k: v.to(device) for k, v in collate(data, rows_b, pad_id=pad_id).items()}
        s, c = model_sequence_logprobs(model, batch)
        idx = batch["seq_index"].cpu().numpy()
        sums[idx] = s.double().cpu().numpy()
        counts[idx] = c.cpu().numpy()
    model.train(was_training)
    return ReferenceLogps(sums, counts)


def reference_logps(model: torch.nn.Module, data: TokenizedData, cache_dir: str | Path, *,
                    max_length: int = 2048, rows_per_batch: int = 8, pad_id: int = 1,
                    progress: bool = False, log=print) -> ReferenceLogps:
    """The cached reference log-probs of ``data`` under ``model``, computing them on a miss."""
    key = hashlib.sha256(json.dumps({"version": REF_CACHE_VERSION, "model": model_fingerprint(model),
                                     "data": data_fingerprint(data)}).encode()).hexdigest()
    path = Path(cache_dir) / f"ref-{key[:16]}.npz"
    if path.is_file():
        with np.load(path) as z:
            if z["sums"].shape[0] == data.num_sequences:
                return ReferenceLogps(z["sums"], z["counts"], key)
    ref = compute_reference_logps(model, data, max_length=max_length, rows_per_batch=rows_per_batch,
                                  pad_id=pad_id, progress=progress)
    ref.key = key
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, sums=ref.sums, counts=ref.counts)
    log(f"reference log-probs of {data.num_sequences} sequences -> {path}")
    return ref
