"""The pretraining batch loader: each step yields this rank's slice of the global batch, split into
micro-batches, and its position is a small state dict for exact resume.

This is one implementation of the trainer's loader contract (:class:`olmo_core.train.trainer.BatchLoader`):
an iterable of ``list[dict[str, Tensor]]`` (one list per optimizer step) with ``state_dict`` and
``load_state_dict``. open-instruct plugs in its own loaders of SFT/DPO batches the same way."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from olmo_core.data.instances import InstanceSource
from olmo_core.data.order import GlobalOrder
from olmo_core.data.tokens import TokenDataset


@dataclass
class DataConfig:
    """Where the tokens are and how they are cut and ordered.

    ``paths``: folders, globs or ``.npy`` files of token shards: ours (a ``.docs.jsonl`` sidecar;
    headerless memmap or ``.npy``) or Dolma's (headerless memmap + ``.csv.gz``), see
    :mod:`olmo_core.data.tokens`. ``global_batch_size`` and ``micro_batch_size`` count instances of
    ``seq_len`` tokens; a micro-batch is per rank."""

    paths: list[str] = field(default_factory=list)
    seq_len: int = 64
    global_batch_size: int = 8
    micro_batch_size: int = 4
    seed: int = 6198
    shuffle: bool = True
    num_workers: int = 0
    #: Batches carry ``doc_ids`` and ``position_ids`` (restarting at each document) from the documents'
    #: token ranges, so attention stays inside the documents of a packed instance (OLMo-core's
    #: intra-document masking); see also ``ModelConfig.document_masking``.
    document_masking: bool = False

    def build(self, *, rank: int = 0, world_size: int = 1, max_steps: int | None = None,
              expect_eos_id: int | None = None, vocab_limit: int | None = None) -> TokenBatchLoader:
        """This rank's loader over the token arrays of ``paths`` (``max_steps``: default one epoch;
        ``vocab_limit``: token ids must be below it, the model's embedding size)."""
        if not self.paths:
            raise ValueError("data.paths is empty: give the tokenized dataset, e.g. data.paths=[out/tokens]")
        ds = TokenDataset(list(self.paths), expect_eos_id=expect_eos_id, vocab_limit=vocab_limit)
        return TokenBatchLoader(InstanceSource(ds, self.seq_len, document_ids=self.document_masking), self,
                                rank=rank, world_size=world_size, max_steps=max_steps)


def collate(examples: list[dict[str, np.ndarray]], indices: np.ndarray, positions: np.ndarray) -> dict[str, torch.Tensor]:
    batch = {k: torch.from_numpy(np.stack([e[k] for e in examples])) for k in examples[0]}
    batch["instance_index"] = torch.from_numpy(np.asarray(indices, dtype=np.int64))
    batch["batch_position"] = torch.from_numpy(np.asarray(positions, dtype=np.int64))
    return batch


class _StepItems(torch.utils.data.Dataset):
    """Item ``k``: the micro-batches of step ``first_step + k`` for one rank (so that torch's
    DataLoader workers prefetch whole steps and keep their order)."""

    def __init__(self, loader: TokenBatchLoader, first_step: int) -> None:
        self.loader, self.first_step = loader, first_step

    def __len__(self) -> int:
        return self.loader.total_steps - self.first_step

    def __getitem__(self, k: int) -> list[dict[str, torch.Tensor]]:
        return self.loader.micro_batches(self.first_step + k)


class TokenBatchLoader:
    """Rank-local micro-batches of each global batch, in the :class:`GlobalOrder`."""

    def __init__(self, source: InstanceSource, cfg: DataConfig, *, rank: int = 0, world_size: int = 1,
                 max_steps: int | None = None) -> None:
        self.source, self.cfg, self.rank, self.world_size = source, cfg, rank, world_size
        self.order = GlobalOrder(len(source), cfg.global_batch_size, cfg.seed, shuffle=cfg.shuffle)
        per_rank = cfg.global_batch_size // world_size
        if cfg.global_batch_size % world_size or per_rank % cfg.micro_batch_size:
            raise ValueError(f"data.global_batch_size={cfg.global_batch_size} must split into {world_size} "
                             f"rank(s) x whole micro-batches of data.micro_batch_size={cfg.micro_batch_size}")
        self.total_steps = max_steps if max_steps is not None else self.order.batches_per_epoch
        self.batches_consumed = 0

    @property
    def tokens_per_step(self) -> int:
        return self.cfg.global_batch_size * self.cfg.seq_len

    def micro_batches(self, step: int) -> list[dict[str, torch.Tensor]]:
        indices, positions = self.order.rank_slice(step, self.rank, self.world_size)
        mb = self.cfg.micro_batch_size
        out = []
        for i in range(0, len(indices), mb):
            idx, pos = indices[i:i + mb], positions[i:i + mb]
            out.append(collate([self.source.example(int(j)) for j in idx], idx, pos))
        return out

    def __iter__(self) -> Iterator[list[dict[str, torch.Tensor]]]:
        first = self.batches_consumed
        if self.cfg.num_workers > 0:
            it: Any = torch.utils.data.DataLoader(_StepItems(self, first), batch_size=None, shuffle=False,
                                                  num_workers=self.cfg.num_workers, prefetch_factor=2,
                                                  persistent_workers=False)
        else:
            it = (self.micro_batches(s) for s in range(first, self.total_steps))
        for batch in it:
            # Counted when handed over, so a checkpoint after the step resumes at the next batch even
            # though workers may have prefetched further.
            self.batches_consumed += 1
            yield batch

    def state_dict(self) -> dict[str, Any]:
        return {"batches_consumed": self.batches_consumed, "seed": self.cfg.seed, "seq_len": self.cfg.seq_len,
                "global_batch_size": self.cfg.global_batch_size, "num_instances": len(self.source),
                "epoch": self.order.epoch_of(self.batches_consumed)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("seed", "seq_len", "global_batch_size", "num_instances"):
            mine = {"seed": self.cfg.seed, "seq_len": self.cfg.seq_len, "global_batch_size": self.cfg.global_batch_size,
                    "num_instances": len(self.source)}[key]
            if state[key] != mine:
                raise ValueError(f"cannot resume the data order: checkpoint has {key}={state[key]}, this run "
                                 f"has {mine}; the same step would see different instances")
        self.batches_consumed = int(state["batches_consumed"])
