"""The global data order: one seeded permutation of all instances per epoch, cut into global batches.

The order depends only on (seed, epoch, number of instances, global batch size): never on the world
size, the number of workers or the micro-batch size. Ranks take contiguous slices of each global
batch and split them into micro-batches, so the set of instances a step trains on is fixed."""

from __future__ import annotations

from functools import lru_cache

import numpy as np


@lru_cache(maxsize=4)
def epoch_permutation(num_instances: int, seed: int, epoch: int, shuffle: bool = True) -> np.ndarray:
    if not shuffle:
        return np.arange(num_instances, dtype=np.int64)
    rng = np.random.Generator(np.random.PCG64(seed + epoch))
    perm = rng.permutation(num_instances).astype(np.int64)
    perm.setflags(write=False)
    return perm


class GlobalOrder:
    """Which instances global batch ``step`` (0-based, counted over the whole run) holds."""

    def __init__(self, num_instances: int, global_batch_size: int, seed: int, *, shuffle: bool = True) -> None:
        if global_batch_size <= 0:
            raise ValueError(f"data.global_batch_size must be positive, got {global_batch_size}")
        if num_instances < global_batch_size:
            raise ValueError(f"the dataset has {num_instances} instances, fewer than one global batch of "
                             f"{global_batch_size}")
        self.num_instances, self.global_batch_size, self.seed, self.shuffle = (
            num_instances, global_batch_size, seed, shuffle)
        # The incomplete last batch of an epoch is dropped so every step has the same shape.
        self.batches_per_epoch = num_instances // global_batch_size

    def epoch_of(self, step: int) -> int:
        return step // self.batches_per_epoch

    def global_batch(self, step: int) -> np.ndarray:
        epoch, k = divmod(step, self.batches_per_epoch)
        perm = epoch_permutation(self.num_instances, self.seed, epoch, self.shuffle)
        return perm[k * self.global_batch_size:(k + 1) * self.global_batch_size]

    def rank_slice(self, step: int, rank: int, world_size: int) -> tuple[np.ndarray, np.ndarray]:
        """This rank's instances of the step and their positions in the global batch."""
        if self.global_batch_size % world_size:
            raise ValueError(f"data.global_batch_size={self.global_batch_size} is not divisible by the world "
                             f"size {world_size}")
        per = self.global_batch_size // world_size
        positions = np.arange(rank * per, (rank + 1) * per, dtype=np.int64)
        return self.global_batch(step)[positions], positions
