"""The reference log-prob cache: values, content keys, atomic files, one cache for every loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import open_instruct.ref_cache as rc
from open_instruct.data.cache import load_tokenized
from open_instruct.data.packing import collate
from open_instruct.logprobs import forward, sequence_logprobs


def test_cache_values_and_keys(dpo_file, tokenizer, tiny_model, tmp_path, monkeypatch) -> None:
    data, _ = load_tokenized("dpo", [f"{dpo_file}:10"], tokenizer, max_length=512, cache_dir=tmp_path,
                             log=lambda *_: None)
    ref = rc.reference_logps(tiny_model, data, tmp_path / "ref", max_length=512, log=lambda *_: None)
    files = list((tmp_path / "ref").iterdir())
    assert len(files) == 1 and files[0].name.startswith("ref-") and files[0].suffix == ".npz"
    # independent: one padded pair at a time
    tiny_model.eval()
    with torch.no_grad():
        for u in range(data.num_examples):
            b = collate(data, [[u]])
            s, c = sequence_logprobs(forward(tiny_model, b), b, tiny_model.vocab_size)
            np.testing.assert_allclose(ref.sums[2 * u: 2 * u + 2], s.double().numpy(), rtol=1e-5, atol=1e-4)
            assert ref.counts[2 * u: 2 * u + 2].tolist() == c.tolist()
    assert ref.counts.tolist() == data.target_counts().tolist()

    # a hit never runs the model
    monkeypatch.setattr(rc, "compute_reference_logps", lambda *a, **k: pytest.fail("recomputed"))
    again = rc.reference_logps(tiny_model, data, tmp_path / "ref", max_length=512)
    assert np.array_equal(again.sums, ref.sums) and again.key == ref.key
    monkeypatch.undo()

    # other weights, another key
    with torch.no_grad():
        tiny_model.blocks[0].feed_forward.w1.weight.add_(0.01) if hasattr(
            tiny_model.blocks[0].feed_forward, "w1") else next(tiny_model.parameters()).add_(0.01)
    other = rc.reference_logps(tiny_model, data, tmp_path / "ref", max_length=512, log=lambda *_: None)
    assert other.key != ref.key and len(list((tmp_path / "ref").iterdir())) == 2
