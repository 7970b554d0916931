"""The model adapters score and generate: transformers' generate (KV cache) and olmo-core's generate
(KV cache) give the greedy tokens of the plain recompute-everything loop, on a padded batch."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_eval.interfaces import GenerativeLanguageModel, check_language_model
from olmo_eval.models import HFCausalLM, NaiveGenerator, OlmoCoreLM, load_model

TEXTS = ["The capital of France is", "def add(a, b):\n    return", "Question: How many legs does a spider have?\nAnswer:"]


@pytest.fixture(scope="module")
def generators(hf_dir: Path, olmo_core_dir: Path):
    hf, codec = load_model(hf_dir)
    ours, _ = load_model(olmo_core_dir, tokenizer=hf_dir / "tokenizer.json")
    return hf, ours, codec


def test_adapters_meet_the_contracts(generators) -> None:
    hf, ours, _ = generators
    assert isinstance(hf, HFCausalLM) and isinstance(ours, OlmoCoreLM)
    for g in (hf, ours):
        assert isinstance(g, GenerativeLanguageModel)
        check_language_model(g)


def test_greedy_tokens_agree(generators) -> None:
    hf, ours, codec = generators
    prompts = [codec.encode(t) for t in TEXTS]
    assert len({len(p) for p in prompts}) == 3  # the batch is left-padded
    reference = NaiveGenerator(hf).generate(prompts, 10)
    assert hf.generate(prompts, 10) == reference
    assert ours.generate(prompts, 10) == reference
    assert all(len(r) == 10 for r in reference)


def test_stop_sequences_cut_and_sampling_is_seeded(generators) -> None:
    hf, ours, codec = generators
    prompts = [codec.encode(t) for t in TEXTS]
    full = ours.generate(prompts, 10)
    stop = [full[0][3:5]]
    cut = ours.generate(prompts, 10, stop_sequences_ids=stop)
    assert cut[0][-2:] == stop[0] or len(cut[0]) <= 5
    for g in (hf, ours):
        a = g.generate(prompts, 8, temperature=1.0, top_p=0.9, seed=7)
        b = g.generate(prompts, 8, temperature=1.0, top_p=0.9, seed=7)
        c = g.generate(prompts, 8, temperature=1.0, top_p=0.9, seed=8)
        assert a == b and a != c


def test_unknown_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="neither an olmo-core checkpoint"):
        load_model(tmp_path)
