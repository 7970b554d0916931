"""A tiny random olmo-core OLMo through the offline runner and through the in-loop evaluator gives the
same per-request log-likelihoods (1e-5, fp32) and the same metrics, for every registered
ranked-classification task and for perplexity. Both paths share olmo-eval's scoring code, so this
checks the wiring for every task; the independent check (both paths against a scorer written on
``transformers``) is ``test_inloop_offline_vs_transformers.py``."""

from __future__ import annotations

import dataclasses
import gzip
import json
from pathlib import Path

import pytest
import torch

from olmo_eval.inloop import InLoopEvaluator
from olmo_eval.perplexity import run_perplexity
from olmo_eval.runner import run
from olmo_eval.tasks import expand


class FakeState:
    def __init__(self, model: torch.nn.Module, run_dir: Path) -> None:
        self.step, self.tokens_seen, self.model, self.is_main_process, self.run_dir = 0, 0, model, True, run_dir
        self.logged: list[tuple[int, dict[str, float]]] = []

    def log(self, metrics):
        self.logged.append((self.step, dict(metrics)))


@pytest.fixture(scope="module")
def tiny_olmo() -> torch.nn.Module:
    from olmo_core.model.presets import get_model_preset
    from olmo_core.model.transformer import OLMo

    # The tiny preset, narrowed and with a 512-token window: fast on a CPU, and long few-shot contexts and
    # documents exercise truncation and multi-window scoring.
    cfg = dataclasses.replace(get_model_preset("tiny"), max_sequence_length=512, d_model=32, n_heads=2,
                              mlp_hidden_size=96)
    torch.manual_seed(0)
    model = OLMo(cfg)
    model.init_weights(1234)
    return model.float()


def _offline_logprobs(out: Path, task: str) -> list[tuple[int, list[float], list[float]]]:
    with gzip.open(out / "predictions" / f"{task}.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    return [(r["index"], r["logprobs"], r.get("uncond_logprobs", [])) for r in rows]


def test_offline_equals_inloop_for_every_task_and_perplexity(tiny_olmo, tokenizer, ppl_root, tmp_path) -> None:
    core = expand("core9,core9:mc")
    mmlu = expand("mmlu,mmlu:mc")
    assert len(core) == 18 and len(mmlu) == 114
    out_core, out_mmlu = tmp_path / "core", tmp_path / "mmlu"
    budget = 2048
    m_core = run(tiny_olmo, tokenizer, core, out_core, limit=2, token_budget=budget, show_progress=False)
    # MMLU zero-shot keeps all 114 subject tasks in the test at a CPU-friendly cost.
    m_mmlu = run(tiny_olmo, tokenizer, mmlu, out_mmlu, limit=1, num_shots=0, token_budget=budget,
                 show_progress=False)
    ppl_off = run_perplexity(tiny_olmo, tokenizer, ppl_root, tmp_path / "ppl", token_budget=budget,
                             show_progress=False)

    # In-loop: every task compiled by the evaluators themselves (no offline request file is read).
    evaluator = InLoopEvaluator(tokenizer, "core9,core9:mc", limit=2, every_n_steps=2, token_budget=budget,
                                perplexity_dir=ppl_root)
    evaluator_mmlu = InLoopEvaluator(tokenizer, "mmlu,mmlu:mc", limit=1, num_shots=0, every_n_steps=2,
                                     token_budget=budget)
    tiny_olmo.train()
    state = FakeState(tiny_olmo, tmp_path)
    for cb in (evaluator, evaluator_mmlu):
        cb.on_train_start(state)
    for step in range(1, 5):
        state.step = step
        for cb in (evaluator, evaluator_mmlu):
            cb.on_step_end(state, {"train/loss": 1.0})
    for cb in (evaluator, evaluator_mmlu):
        cb.on_train_end(state)
    assert [s for s, _ in state.logged] == [2, 2, 4, 4]
    assert tiny_olmo.training  # the evaluator restores the training mode

    logged = {**state.logged[-2][1], **state.logged[-1][1]}
    for name in core + mmlu:
        inloop = (evaluator if name in core else evaluator_mmlu).last_results[name]
        entry = (m_core if name in core else m_mmlu)["tasks"][name]
        assert inloop.config_hash == entry["config_hash"], name
        offline_rows = _offline_logprobs(out_core if name in core else out_mmlu, name)
        assert len(offline_rows) == len(inloop.instances) > 0
        for (idx, lps, uncs), row in zip(offline_rows, inloop.instances):
            assert idx == row["index"]
            assert lps == pytest.approx(row["logprobs"], abs=1e-5), name
            assert uncs == pytest.approx(row.get("uncond_logprobs", []), abs=1e-5), name
        # Batches mix tasks differently in the two runs, so sums differ in the last float bits only.
        for k, v in entry["metrics"].items():
            assert inloop.metrics[k] == pytest.approx(v, rel=1e-6), (name, k)
            assert logged[f"eval/{name}/{k}"] == pytest.approx(v, rel=1e-6)
    assert logged["eval/mmlu/primary"] == pytest.approx(m_mmlu["groups"]["mmlu"]["primary"], rel=1e-6)

    ppl_in = evaluator.last_perplexity
    assert ppl_in is not None and set(ppl_in["subdomains"]) == set(ppl_off["subdomains"]) == {
        "books/part_a", "books/part_b", "python_docs/part_a", "python_docs/part_b"}
    for sub, m in ppl_off["subdomains"].items():
        assert ppl_in["subdomains"][sub]["num_tokens"] == m["num_tokens"] and m["num_tokens"] > 512
        assert ppl_in["subdomains"][sub]["ppl"] == pytest.approx(m["ppl"], rel=1e-6)
        assert logged[f"eval/ppl/{sub}/bits_per_byte"] == pytest.approx(m["bits_per_byte"], rel=1e-6)
    for a, b in zip(ppl_off["documents"], ppl_in["documents"]):
        assert a["nll"] == pytest.approx(b["nll"], abs=1e-4)

    # the callback's state resumes
    fresh = InLoopEvaluator(tokenizer, None, every_n_steps=2)
    fresh.load_state_dict(evaluator.state_dict())
    assert fresh.last_eval_step == 4 and len(fresh.history) == 2


def test_inloop_refuses_generation_tasks(tokenizer) -> None:
    with pytest.raises(ValueError, match="lambada: a generation task"):
        InLoopEvaluator(tokenizer, "arc_easy,lambada", limit=2)
