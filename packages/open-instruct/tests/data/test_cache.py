"""The tokenized cache: keyed by content, hit without re-reading, written atomically."""

from __future__ import annotations

import os

import numpy as np
import pytest

import open_instruct.data.cache as cache
from open_instruct.data.cache import load_tokenized


def test_hit_miss_and_atomic(sft_file, tokenizer, tmp_path, monkeypatch) -> None:
    data, stats = load_tokenized("sft", [f"{sft_file}:50"], tokenizer, max_length=256, cache_dir=tmp_path,
                                 log=lambda *_: None)
    entries = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("sft-"))
    assert len(entries) == 1 and not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    s = stats.sources[0]
    assert s.sequences + s.dropped_too_long == 50 == data.num_sequences + s.dropped_too_long
    assert s.tokens == len(data.input_ids) and s.target_tokens == int(data.labels.sum())

    # A hit reads the entry and never mixes or tokenizes again.
    monkeypatch.setattr(cache, "mix", lambda *a, **k: pytest.fail("cache miss"))
    again, st2 = load_tokenized("sft", [f"{sft_file}:50"], tokenizer, max_length=256, cache_dir=tmp_path)
    assert np.array_equal(again.input_ids, data.input_ids) and np.array_equal(again.labels, data.labels)
    assert st2.sources[0].tokens == s.tokens
    monkeypatch.undo()

    # Every part of the key matters.
    k0 = cache.cache_key("sft", [cache.MixSource(str(sft_file), 50)], 0, tokenizer, "tulu", 256)[0]
    assert k0 != cache.cache_key("sft", [cache.MixSource(str(sft_file), 50)], 0, tokenizer, "tulu", 512)[0]
    assert k0 != cache.cache_key("sft", [cache.MixSource(str(sft_file), 50)], 1, tokenizer, "tulu", 256)[0]
    assert k0 != cache.cache_key("sft", [cache.MixSource(str(sft_file), 51)], 0, tokenizer, "tulu", 256)[0]
    ex = [cache.MixSource(str(sft_file), 10)]
    assert k0 != cache.cache_key("sft", [cache.MixSource(str(sft_file), 50)], 0, tokenizer, "tulu", 256, ex)[0]
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(sft_file.read_bytes()[:-2] + b" }\n")  # same records, different bytes
    assert k0 != cache.cache_key("sft", [cache.MixSource(str(copy), 50)], 0, tokenizer, "tulu", 256)[0]


def test_dpo_pairs_stay_aligned(dpo_file, tokenizer, tmp_path) -> None:
    data, stats = load_tokenized("dpo", [str(dpo_file)], tokenizer, max_length=512, cache_dir=tmp_path,
                                 log=lambda *_: None)
    assert data.num_sequences == 2 * data.num_examples
    for i in range(0, 10):
        c_ids, c_lab = data.sequence(2 * i)
        r_ids, r_lab = data.sequence(2 * i + 1)
        prompt_c = c_ids[: np.argmax(c_lab)]
        assert np.array_equal(prompt_c, r_ids[: np.argmax(r_lab)])  # same prompt, different completion
        assert tokenizer.decode(prompt_c.tolist()).endswith("<|assistant|>\n")


def test_a_killed_builders_folder_is_removed(sft_file, tokenizer, tmp_path) -> None:
    """A builder killed before its rename leaves ``.<entry>.tmp-<pid>-*``; the next build removes it,
    but never the folder of a builder that is still running (another rank, another run)."""
    import subprocess
    import sys

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    key = cache.cache_key("sft", [cache.MixSource(str(sft_file), 20)], 0, tokenizer, "tulu", 256)[0]
    entry = f"sft-{key[:16]}"
    stale = tmp_path / f".{entry}.tmp-{gone.pid}-x1y2"
    live = tmp_path / f".{entry}.tmp-{os.getppid()}-z3w4"
    for d in (stale, live):
        d.mkdir()
        (d / "arrays.npz").write_bytes(b"half")
    load_tokenized("sft", [f"{sft_file}:20"], tokenizer, max_length=256, cache_dir=tmp_path, log=lambda *_: None)
    assert (tmp_path / entry / "meta.json").is_file()
    assert not stale.exists() and live.is_dir()
