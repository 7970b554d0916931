"""Generation: greedy tokens equal HF transformers' greedy generate on the converted model (the
independent reference); the KV cache changes nothing; a left-padded batch decodes as each prompt
alone; eos and stop sequences cut; sampling is seeded and top-p behaves at its limits."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from olmo_core.checkpoint.model_io import save_model_checkpoint
from olmo_core.convert import to_hf
from olmo_core.generate import _top_p_filter, generate
from olmo_core.model import OLMo, get_model_preset
from olmo_core.tokenizer import encode, load_olmo_tokenizer

PROMPTS_TEXT = ["The capital of France is", "def fibonacci(n):\n    ", "In the beginning God created"]


@pytest.fixture(scope="module")
def model() -> OLMo:
    cfg = get_model_preset("tiny").replace(d_model=64, n_heads=4, n_kv_heads=2, mlp_hidden_size=160)
    m = cfg.build()
    m.init_weights(seed=5)
    return m.eval()


@pytest.fixture(scope="module")
def prompts() -> list[list[int]]:
    tok = load_olmo_tokenizer()
    return [encode(tok, t) for t in PROMPTS_TEXT]


def test_greedy_matches_transformers(model: OLMo, prompts: list[list[int]], tmp_path_factory) -> None:
    from transformers import AutoModelForCausalLM

    tmp: Path = tmp_path_factory.mktemp("gen")
    hf_dir = to_hf(save_model_checkpoint(model, tmp / "ours"), tmp / "hf", tokenizer=None)
    hf = AutoModelForCausalLM.from_pretrained(str(hf_dir), dtype=torch.float32, local_files_only=True).eval()
    ours = generate(model, prompts, 12, eos_token_id=-1)
    for p, got in zip(prompts, ours):
        ref = hf.generate(torch.tensor([p]), max_new_tokens=12, do_sample=False, eos_token_id=None,
                          pad_token_id=1)[0, len(p):].tolist()
        assert got == ref


def test_cache_and_padding_change_nothing(model: OLMo, prompts: list[list[int]]) -> None:
    cached = generate(model, prompts, 10, eos_token_id=-1)
    uncached = generate(model, prompts, 10, eos_token_id=-1, use_cache=False)
    alone = [generate(model, [p], 10, eos_token_id=-1)[0] for p in prompts]
    assert cached == uncached == alone
    assert all(len(c) == 10 for c in cached)
    assert len({len(p) for p in prompts}) > 1  # the batch really is padded


def test_sampling_is_seeded_and_cached_equals_uncached(model: OLMo, prompts: list[list[int]]) -> None:
    a = generate(model, prompts, 8, temperature=1.0, seed=3, eos_token_id=-1)
    b = generate(model, prompts, 8, temperature=1.0, seed=3, eos_token_id=-1, use_cache=False)
    c = generate(model, prompts, 8, temperature=1.0, seed=4, eos_token_id=-1)
    assert a == b and a != c
    greedy = generate(model, prompts, 8, eos_token_id=-1)
    # top_p this small keeps only the most likely token: sampling becomes greedy
    assert generate(model, prompts, 8, temperature=1.0, top_p=1e-6, seed=9, eos_token_id=-1) == greedy
    assert all(t < model.vocab_size for row in a for t in row)  # never a padding row of the embedding


def test_top_p_filter_by_hand() -> None:
    probs = torch.tensor([[0.5, 0.3, 0.15, 0.05]])
    torch.testing.assert_close(_top_p_filter(probs, 0.7), torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    torch.testing.assert_close(_top_p_filter(probs, 0.8), torch.tensor([[0.625, 0.375, 0.0, 0.0]]))
    torch.testing.assert_close(_top_p_filter(probs, 0.81), torch.tensor([[0.5, 0.3, 0.15, 0.0]]) / 0.95)


def test_stops_at_eos_and_stop_sequences(model: OLMo, prompts: list[list[int]]) -> None:
    free = generate(model, prompts[:1], 10, eos_token_id=-1)[0]
    eos = free[4]
    cut = free.index(eos)
    assert generate(model, prompts[:1], 10, eos_token_id=eos)[0] == free[:cut]
    assert generate(model, prompts[:1], 10, eos_token_id=-1, stop_sequences_ids=[free[5:7]])[0] == \
        free[:_first(free, free[5:7])]
    with pytest.raises(ValueError, match="max_sequence_length"):
        generate(model, prompts[:1], model.max_sequence_length)


def _first(seq: list[int], sub: list[int]) -> int:
    return next(i for i in range(len(seq)) if seq[i:i + len(sub)] == sub)
