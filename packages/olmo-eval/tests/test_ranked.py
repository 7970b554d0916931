"""Per-instance outputs, clean-subset metrics and group macro averages from evaluate_compiled."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from olmo_eval.ranked import evaluate_compiled, group_metrics
from olmo_eval.requests import compile_task
from olmo_eval.tasks import get_task


class TinyLM(torch.nn.Module):
    vocab_size, max_sequence_length, eos_token_id = 50280, 512, 50279

    def __init__(self) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.emb = torch.nn.Parameter(torch.randn(50304, 4, generator=g))
        self.out = torch.nn.Parameter(torch.randn(4, 50304, generator=g))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.emb[ids].cumsum(1)) @ self.out


def test_instances_clean_subset_and_groups(tokenizer) -> None:
    tasks = [compile_task(get_task(n, limit=6, num_shots=0)) for n in ("copa", "mmlu_anatomy", "mmlu_virology")]
    dirty = {tasks[0].instances[1].id, tasks[0].instances[4].id}
    clean = {"copa": {i.id: i.id not in dirty for i in tasks[0].instances}}
    results = evaluate_compiled(TinyLM(), tokenizer, tasks, clean=clean, bootstrap_samples=200)
    copa = results["copa"]
    rows = copa.instances
    assert [r["clean"] for r in rows] == [r["id"] not in dirty for r in rows]
    for r in rows:  # each prediction follows from the row's own statistics
        lp, unc = np.array(r["logprobs"]), np.array(r["uncond_logprobs"])
        assert r["pred_raw"] == int(np.argmax(lp))
        assert r["pred_uncond"] == int(np.argmax(lp - unc))
        assert r["pred_per_char"] == int(np.argmax(lp / np.array(r["num_chars"])))
    kept = [r for r in rows if r["clean"]]
    assert copa.metrics["num_clean"] == 4
    assert copa.metrics["clean/acc_raw"] == pytest.approx(np.mean([r["acc_raw"] for r in kept]))
    assert copa.metrics["acc_uncond"] == pytest.approx(np.mean([r["acc_uncond"] for r in rows]))
    assert copa.ci95[0] <= copa.primary <= copa.ci95[1]
    assert len(copa.request_logprobs) == len(tasks[0].requests) == 6 * 2 * 2
    groups = group_metrics(results)
    assert set(groups) == {"mmlu"} and groups["mmlu"]["num_tasks"] == 2
    assert groups["mmlu"]["acc_per_char"] == pytest.approx(
        (results["mmlu_anatomy"].metrics["acc_per_char"] + results["mmlu_virology"].metrics["acc_per_char"]) / 2)
