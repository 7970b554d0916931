"""The batch source olmo-core's Trainer iterates: per optimizer step, this rank's micro-batches.

A global batch is ``global_batch_size`` *units* (SFT examples or DPO pairs), drawn from a seeded
per-epoch permutation; this rank takes its contiguous share, splits it into micro-batches of
``micro_batch_size`` units and packs each micro-batch into rows of at most ``max_length`` tokens
(twice that for DPO, whose unit is two sequences; ``collate``). Units are never split, so a DPO pair's two sides always share a row. The position is
(epoch, step in epoch); ``state_dict``/``load_state_dict`` resume exactly."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch

from open_instruct.data.packing import collate, pack_units, row_length, unit_lengths
from open_instruct.data.tokenize import TokenizedData
from open_instruct.ref_cache import ReferenceLogps


class PackedBatches:
    def __init__(self, data: TokenizedData, *, global_batch_size: int, micro_batch_size: int, max_length: int,
                 seed: int = 0, epochs: int | None = None, shuffle: bool = True, pad_id: int = 1,
                 rank: int = 0, world_size: int = 1, reference: ReferenceLogps | None = None) -> None:
        if global_batch_size % world_size:
            raise ValueError(f"global_batch_size {global_batch_size} is not divisible by {world_size} ranks")
        if global_batch_size > data.num_examples:
            raise ValueError(f"global_batch_size {global_batch_size} is larger than the dataset "
                             f"({data.num_examples} units)")
        self.data, self.global_batch_size, self.micro_batch_size = data, global_batch_size, micro_batch_size
        self.max_length, self.seed, self.epochs, self.shuffle, self.pad_id = max_length, seed, epochs, shuffle, pad_id
        self.rank, self.world_size, self.reference = rank, world_size, reference
        self.unit_lengths = unit_lengths(data)
        self.epoch, self.step_in_epoch = 0, 0

    @property
    def steps_per_epoch(self) -> int:
        return self.data.num_examples // self.global_batch_size

    def order(self, epoch: int) -> np.ndarray:
        if not self.shuffle:
            return np.arange(self.data.num_examples)
        return np.random.default_rng([self.seed, epoch]).permutation(self.data.num_examples)

    def step_units(self, epoch: int, step: int) -> np.ndarray:
        """This rank's units of one global batch."""
        g = self.order(epoch)[step * self.global_batch_size:(step + 1) * self.global_batch_size]
        share = self.global_batch_size // self.world_size
        return g[self.rank * share:(self.rank + 1) * share]

    def micro_batches(self, units: np.ndarray) -> list[dict[str, torch.Tensor]]:
        out = []
        for i in range(0, len(units), self.micro_batch_size):
            chunk = units[i:i + self.micro_batch_size]
            packed = pack_units(self.unit_lengths[chunk], row_length(self.data, self.max_length))
            rows = [[int(chunk[j]) for j in row] for row in packed]
            mb = collate(self.data, rows, pad_id=self.pad_id)
            if self.reference is not None:
                mb["ref_logps"], mb["ref_counts"] = self.reference.lookup(mb["seq_index"])
            out.append(mb)
        return out

    def __iter__(self) -> Iterator[list[dict[str, torch.Tensor]]]:
        while self.epochs is None or self.epoch < self.epochs:
            while self.step_in_epoch < self.steps_per_epoch:
                units = self.step_units(self.epoch, self.step_in_epoch)
                self.step_in_epoch += 1  # advanced before yielding: a checkpoint after this step resumes after it
                yield self.micro_batches(units)
            self.epoch, self.step_in_epoch = self.epoch + 1, 0

    def __len__(self) -> int:
        return self.steps_per_epoch * (self.epochs or 1)

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "step_in_epoch": self.step_in_epoch, "seed": self.seed,
                "num_units": self.data.num_examples, "global_batch_size": self.global_batch_size}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key in ("seed", "num_units", "global_batch_size"):
            mine = self.state_dict()[key]
            if key in state and state[key] != mine:
                raise ValueError(f"cannot resume: the checkpoint's data {key} is {state[key]}, this run's is {mine}")
        self.epoch, self.step_in_epoch = int(state["epoch"]), int(state["step_in_epoch"])
