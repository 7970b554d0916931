"""Which training steps saw a stretch of the token stream, replayed from the data order OLMo-core
records nothing but the seed of (``olmo_core.data.order``: one seeded permutation of all instances per
epoch, cut into global batches; ``olmo-stack trace --step N`` replays the same order forwards).

A step *saw* a token when the token is one of the inputs of an instance in its global batch (instance
``i`` reads positions ``[i * seq_len, (i + 1) * seq_len)``), as ``trace --step`` lists them. Only steps
the run actually took count: the last step in ``pretrain/metrics.jsonl`` (else ``trainer.max_steps``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from olmo_stack.tracing.run_index import pretrain_dir


def trained_steps(run: str | Path) -> int:
    folder = pretrain_dir(run)
    metrics = folder / "metrics.jsonl"
    if metrics.is_file():
        steps = [json.loads(line).get("step", 0) for line in metrics.read_text().splitlines() if line.strip()]
        if steps:
            return int(max(steps))
    from olmo_core.checkpoint.manager import read_config

    return int(read_config(folder).get("trainer", {}).get("max_steps") or 0)


@dataclass
class StepMap:
    num_tokens: int
    seq_len: int
    global_batch_size: int
    seed: int
    shuffle: bool
    steps: int  # steps the run took
    _inverse: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def for_run(cls, run: str | Path, num_tokens: int) -> StepMap:
        from olmo_core.config.load import load_data_config

        data = load_data_config(pretrain_dir(run))
        return cls(num_tokens, data.seq_len, data.global_batch_size, data.seed, data.shuffle, trained_steps(run))

    @property
    def num_instances(self) -> int:
        return max((self.num_tokens - 1) // self.seq_len, 0)  # as olmo_core.data.instances.InstanceSource

    @property
    def batches_per_epoch(self) -> int:
        return self.num_instances // self.global_batch_size

    def _position_in_epoch(self, epoch: int) -> np.ndarray:
        if epoch not in self._inverse:
            from olmo_core.data.order import epoch_permutation

            perm = epoch_permutation(self.num_instances, self.seed, epoch, self.shuffle)
            inverse = np.empty_like(perm)
            inverse[perm] = np.arange(len(perm))
            self._inverse[epoch] = inverse
        return self._inverse[epoch]

    def instances(self, start: int, end: int) -> range:
        """Instances whose inputs hold any of the positions ``[start, end)``."""
        lo, hi = start // self.seq_len, (end - 1) // self.seq_len + 1
        return range(max(lo, 0), min(hi, self.num_instances))

    def steps_of(self, start: int, end: int) -> list[int]:
        """The 1-based steps that saw any of the positions ``[start, end)``, ascending."""
        bpe = self.batches_per_epoch
        if bpe == 0 or self.steps <= 0:
            return []
        out: list[int] = []
        for epoch in range((self.steps - 1) // bpe + 1):
            where = self._position_in_epoch(epoch)
            for i in self.instances(start, end):
                k = int(where[i]) // self.global_batch_size
                step = epoch * bpe + k + 1
                if k < bpe and step <= self.steps:  # the last, incomplete batch of an epoch is dropped
                    out.append(step)
        return sorted(set(out))
