"""Sampling, scoring, pairing and the content-hash cache on a tiny random OLMo.

A random model's samples are arbitrary token strings, so the scorer here is a stand-in verifier
(a response "passes" when it has an even number of characters): it gives the mixed outcomes pairing
needs; the real scorer (``open_instruct.tasks.check_response``) is the default of the same code."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
import torch

from olmo_core.checkpoint.model_io import save_model_checkpoint
from open_instruct.data.sources import read_records
from open_instruct.onpolicy import OnPolicyConfig, build_preferences
from open_instruct.onpolicy.build import cache_key, prompts_digest, weights_digest
from open_instruct.tokenizer import load_tokenizer
from open_instruct.verifiers import Verdict

CFG = OnPolicyConfig(samples_per_prompt=4, temperature=1.0, max_new_tokens=6, seed=3, batch_size=12)


def even_length(example: dict, response: str) -> Verdict:
    ok = len(response) % 2 == 0
    return Verdict(ok, float(ok))


def _tasks(n: int = 6) -> list[dict]:
    return [{"id": f"t{i}", "family": "arithmetic" if i % 2 else "reversal",
             "messages": [{"role": "user", "content": f"What is {i} + {i}?"}, {"role": "assistant", "content": str(2 * i)}],
             "answer": str(2 * i), "verifier": {"name": "numeric", "args": {"answer": str(2 * i)}}} for i in range(n)]


@pytest.fixture(scope="module")
def built(tiny_model_config, tmp_path_factory):
    """A checkpoint of a tiny random model and one build from it (the other tests compare against it)."""
    torch.manual_seed(0)
    model = tiny_model_config.build()
    model.init_weights(0)
    root = tmp_path_factory.mktemp("onpolicy")
    ckpt = save_model_checkpoint(model, root / "ckpt")
    return model, ckpt, root, _build(ckpt, root / "cache")


def _build(ckpt, cache, cfg=CFG, tasks=None, logs=None):
    return build_preferences(ckpt, tasks or _tasks(), cache, cfg, score=even_length,
                             log=(logs.append if logs is not None else lambda m: None))


def test_pairs_come_from_the_models_samples_and_read_as_dpo_data(built, tmp_path) -> None:
    res = built[3]
    samples = [json.loads(line) for line in res.samples.read_text().splitlines()]
    assert [s["id"] for s in samples] == [f"t{i}" for i in range(6)]
    assert all(len(s["responses"]) == 4 for s in samples)
    texts = [r["text"] for s in samples for r in s["responses"]]
    assert len(set(texts)) > 12, "temperature 1 on a random model should rarely repeat itself"
    for s in samples:  # the verdicts recorded are the scorer's
        assert all(r["correct"] == (len(r["text"]) % 2 == 0) for r in s["responses"])
    pairs = [json.loads(line) for line in res.pairs.read_text().splitlines()]
    mixed = [s for s in samples if 0 < sum(r["correct"] for r in s["responses"]) < 4]
    assert len(pairs) == len(mixed) == res.stats["pairs"] == res.stats["mixed"] > 0
    by_id = {s["id"]: {r["text"]: r["correct"] for r in s["responses"]} for s in samples}
    for p in pairs:
        seen = by_id[p["id"].rsplit("-p", 1)[0]]
        assert seen[p["chosen"][0]["content"]] and not seen[p["rejected"][0]["content"]]
    assert res.stats["verified"] == sum(r["correct"] for s in samples for r in s["responses"])
    assert set(res.stats["families"]) == {"arithmetic", "reversal"}
    records = read_records(res.pairs, "dpo", cache_dir=tmp_path / "ds")
    assert [r.id for r in records] == [p["id"] for p in pairs]


def test_cache_hit_on_same_inputs_and_miss_on_any_change(built, tmp_path) -> None:
    model, ckpt, root, first = built
    logs: list[str] = []
    again = _build(ckpt, root / "cache", logs=logs)
    assert (first.reused, again.reused) == (False, True) and again.key == first.key
    assert any("reusing" in m for m in logs) and again.pairs.read_bytes() == first.pairs.read_bytes()
    # a changed setting, prompt or weight is another key (computed as the build computes it) ...
    weights, prompts, tok = weights_digest(ckpt), prompts_digest(_tasks()), load_tokenizer().fingerprint()
    assert cache_key(weights, prompts, tok, CFG) == first.key
    keys = {cache_key(weights, prompts, tok, dataclasses.replace(CFG, **change))
            for change in ({"seed": 4}, {"temperature": 0.7}, {"samples_per_prompt": 3}, {"max_new_tokens": 7},
                           {"pairs_per_prompt": 2}, {"gold_when_all_fail": True}, {"batch_size": 8})}
    tasks = _tasks()
    tasks[2]["messages"][0]["content"] = "What is 2 + 3?"
    keys.add(cache_key(weights, prompts_digest(tasks), tok, CFG))
    with torch.no_grad():  # other weights, same config
        other = copy.deepcopy(model)
        next(other.parameters()).add_(1e-3)
    ckpt2 = save_model_checkpoint(other, tmp_path / "ckpt2")
    keys.add(cache_key(weights_digest(ckpt2), prompts, tok, CFG))
    assert len(keys | {first.key}) == 10
    # ... and the build misses on it: new weights are sampled afresh into a folder of their own
    res = _build(ckpt2, root / "cache")
    assert not res.reused and res.key in keys
    # complete folders only: no temporary left beside them
    assert sorted(p.name for p in (root / "cache").iterdir()) == sorted({first.key, res.key})


def test_same_inputs_give_identical_files(built, tmp_path) -> None:
    a, b = built[3], _build(built[1], tmp_path / "b")
    assert a.key == b.key and not b.reused
    assert a.samples.read_bytes() == b.samples.read_bytes() and a.pairs.read_bytes() == b.pairs.read_bytes()


def test_bad_task_file_names_the_line(built, tmp_path) -> None:
    ckpt = built[1]
    path = tmp_path / "tasks.jsonl"
    path.write_text(json.dumps(_tasks(1)[0]) + "\n" + json.dumps({"id": "x", "family": "sorting", "messages": [], "answer": "1"}) + "\n")
    with pytest.raises(ValueError, match=r"tasks.jsonl:line 2, field 'verifier': missing"):
        build_preferences(ckpt, path, tmp_path / "c", CFG, score=even_length)
