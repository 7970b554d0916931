"""A preallocated key/value cache for incremental decoding.

Keys are stored after RoPE (so cached positions never need re-rotating) and before grouped-query
expansion (so a GQA model caches only its ``n_kv_heads``). ``doc_ids`` remembers the document id of
every cached position: generation marks left padding as its own document so real tokens never
attend to it."""

from __future__ import annotations

import torch


class KVCache:
    def __init__(self, *, n_layers: int, batch_size: int, max_length: int, n_kv_heads: int, head_dim: int,
                 device: torch.device | str | None = None, dtype: torch.dtype = torch.float32) -> None:
        shape = (n_layers, batch_size, n_kv_heads, max_length, head_dim)
        self.keys = torch.zeros(shape, device=device, dtype=dtype)
        self.values = torch.zeros(shape, device=device, dtype=dtype)
        self.doc_ids: torch.Tensor | None = None
        self.max_length = max_length
        self.batch_size = batch_size
        self.length = 0

    @classmethod
    def for_model(cls, model: torch.nn.Module, batch_size: int, max_length: int) -> KVCache:
        cfg = model.config  # type: ignore[attr-defined]
        param = next(model.parameters())
        return cls(n_layers=cfg.n_layers, batch_size=batch_size, max_length=max_length, n_kv_heads=cfg.kv_heads,
                   head_dim=cfg.head_dim, device=param.device, dtype=param.dtype)

    def check_room(self, new_tokens: int) -> None:
        if self.length + new_tokens > self.max_length:
            raise ValueError(f"KV cache holds {self.max_length} positions; {self.length} used, "
                             f"{new_tokens} more requested")

    def record_doc_ids(self, doc_ids: torch.Tensor | None) -> torch.Tensor | None:
        """Store the new positions' document ids; return the ids of every key position so far."""
        t = 0 if doc_ids is None else doc_ids.shape[1]
        if doc_ids is None:
            if self.doc_ids is not None:
                raise ValueError("this KV cache was filled with doc_ids; pass doc_ids for the new tokens too")
            return None
        if self.doc_ids is None:
            if self.length:
                raise ValueError("doc_ids given, but the earlier cached tokens had none")
            self.doc_ids = torch.zeros(self.batch_size, self.max_length, dtype=torch.long, device=doc_ids.device)
        self.doc_ids[:, self.length:self.length + t] = doc_ids
        return self.doc_ids[:, :self.length + t]

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Write ``k, v [B, H_kv, T, hd]`` at the current position; return all keys/values so far."""
        end = self.length + k.shape[2]
        self.keys[layer, :, :, self.length:end] = k
        self.values[layer, :, :, self.length:end] = v
        return self.keys[layer, :, :, :end], self.values[layer, :, :, :end]

    def advance(self, new_tokens: int) -> None:
        self.length += new_tokens
