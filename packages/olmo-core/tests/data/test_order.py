"""The data order is one seeded permutation per epoch, whatever the world size, workers or
micro-batch size; the loader's state resumes it exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from olmo_core.data.instances import InstanceSource
from olmo_core.data.loader import DataConfig, TokenBatchLoader
from olmo_core.data.order import GlobalOrder
from olmo_core.data.tokens import TokenDataset


def _global_batches(source: InstanceSource, cfg: DataConfig, world: int, steps: int) -> list[list[tuple[int, list[int]]]]:
    """Per step, every (position, input ids) trained by all ranks, sorted by position."""
    loaders = [TokenBatchLoader(source, cfg, rank=r, world_size=world, max_steps=steps) for r in range(world)]
    out = []
    for per_rank in zip(*[iter(ld) for ld in loaders]):
        rows = []
        for mbs in per_rank:
            for mb in mbs:
                for pos, ids in zip(mb["batch_position"].tolist(), mb["input_ids"].tolist()):
                    rows.append((pos, ids))
        out.append(sorted(rows))
    return out


def test_order_independent_of_world_size_workers_and_micro_batch(corpus_tokens: Path) -> None:
    source = InstanceSource(TokenDataset(corpus_tokens), seq_len=32)
    base = DataConfig(seq_len=32, global_batch_size=8, micro_batch_size=8, seed=3)
    reference = _global_batches(source, base, world=1, steps=4)
    for world, mb, workers in ((2, 2, 0), (4, 1, 0), (2, 4, 2)):
        cfg = DataConfig(seq_len=32, global_batch_size=8, micro_batch_size=mb, seed=3, num_workers=workers)
        assert _global_batches(source, cfg, world=world, steps=4) == reference, (world, mb, workers)


def test_instances_are_the_token_stream_and_labels_are_shifted(corpus_tokens: Path) -> None:
    ds = TokenDataset(corpus_tokens)
    source = InstanceSource(ds, seq_len=16)
    # Independent read of the raw arrays, concatenated in sorted shard order.
    stream = np.concatenate([np.load(p) for p in sorted(corpus_tokens.glob("*.npy"))]).astype(np.int64)
    assert len(source) == (len(stream) - 1) // 16
    ex = source.example(7)
    np.testing.assert_array_equal(ex["input_ids"], stream[7 * 16: 8 * 16])
    np.testing.assert_array_equal(ex["labels"], stream[7 * 16 + 1: 8 * 16 + 1])


def test_permutation_is_seeded_per_epoch_and_covers_each_instance_once() -> None:
    order = GlobalOrder(num_instances=100, global_batch_size=10, seed=5)
    epoch0 = np.concatenate([order.global_batch(s) for s in range(10)])
    epoch1 = np.concatenate([order.global_batch(s) for s in range(10, 20)])
    assert sorted(epoch0.tolist()) == list(range(100)) == sorted(epoch1.tolist())
    assert not np.array_equal(epoch0, epoch1)
    expected = np.random.Generator(np.random.PCG64(5 + 1)).permutation(100)  # seed + epoch
    np.testing.assert_array_equal(epoch1, expected)


def test_loader_state_resumes_exactly_and_refuses_a_different_order(corpus_tokens: Path) -> None:
    source = InstanceSource(TokenDataset(corpus_tokens), seq_len=32)
    cfg = DataConfig(seq_len=32, global_batch_size=4, micro_batch_size=2, seed=1)
    full = [torch.cat([mb["input_ids"] for mb in b]) for b in TokenBatchLoader(source, cfg, max_steps=6)]
    first = TokenBatchLoader(source, cfg, max_steps=6)
    it = iter(first)
    for _ in range(3):
        next(it)
    state = first.state_dict()
    resumed = TokenBatchLoader(source, cfg, max_steps=6)
    resumed.load_state_dict(state)
    rest = [torch.cat([mb["input_ids"] for mb in b]) for b in resumed]
    assert len(rest) == 3
    for a, b in zip(full[3:], rest):
        assert torch.equal(a, b)
    other = TokenBatchLoader(source, DataConfig(seq_len=32, global_batch_size=4, micro_batch_size=2, seed=2))
    with pytest.raises(ValueError, match="seed=1.*seed=2|seed"):
        other.load_state_dict(state)


def test_bad_batch_split_is_refused(corpus_tokens: Path) -> None:
    source = InstanceSource(TokenDataset(corpus_tokens), seq_len=32)
    with pytest.raises(ValueError, match="micro_batch_size=3"):
        TokenBatchLoader(source, DataConfig(seq_len=32, global_batch_size=8, micro_batch_size=3), world_size=2)
