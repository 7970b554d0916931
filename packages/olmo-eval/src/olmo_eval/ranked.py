"""Score compiled ranked-classification tasks and turn the scores into metrics.

:func:`evaluate_compiled` is what the offline runner and the in-loop evaluator both call: all tasks'
requests go through :func:`olmo_eval.scoring.score_requests` together (one length-sorted stream), then
each task's per-choice statistics become per-instance outputs and metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from olmo_eval.metrics import NORMALIZATIONS, bootstrap_ci, instance_metrics, mean_metrics
from olmo_eval.requests import CompiledTask
from olmo_eval.scoring import TokenRequest, score_requests
from olmo_eval.tokenizer import encode_pairs


@dataclass
class TaskResult:
    name: str
    config_hash: str
    primary_metric: str
    group: str | None
    metrics: dict[str, float]
    ci95: tuple[float, float]
    instances: list[dict[str, Any]]
    #: summed log-prob of every request, in the task's request order
    request_logprobs: np.ndarray = field(repr=False)

    @property
    def primary(self) -> float:
        return self.metrics[self.primary_metric]


def tokenize_tasks(tokenizer: Any, tasks: Sequence[CompiledTask], eos_token_id: int) -> list[list[TokenRequest]]:
    pairs = [(r.context, r.continuation) for t in tasks for r in t.requests]
    encoded = encode_pairs(tokenizer, pairs, eos_token_id)
    out, start = [], 0
    for t in tasks:
        out.append([TokenRequest(c, k) for c, k in encoded[start:start + len(t.requests)]])
        start += len(t.requests)
    return out


def _task_result(task: CompiledTask, logprob: np.ndarray, num_tokens: np.ndarray,
                 clean: Mapping[str, bool] | None, bootstrap_samples: int) -> TaskResult:
    by_inst: dict[int, dict[str, dict[int, Any]]] = {}
    for r, lp, nt in zip(task.requests, logprob, num_tokens):
        slot = by_inst.setdefault(r.instance, {"lp": {}, "unc": {}, "nt": {}, "cont": {}})
        if r.uncond:
            slot["unc"][r.choice] = float(lp)
        else:
            slot["lp"][r.choice], slot["nt"][r.choice], slot["cont"][r.choice] = float(lp), int(nt), r.continuation
    rows = []
    for inst in task.instances:
        slot = by_inst[inst.index]
        choices = range(inst.num_choices)
        lp = [slot["lp"][c] for c in choices]
        nt = [slot["nt"][c] for c in choices]
        nc = [len(slot["cont"][c]) for c in choices]
        nb = [len(slot["cont"][c].encode("utf-8")) for c in choices]
        unc = [slot["unc"][c] for c in choices] if slot["unc"] else None
        row: dict[str, Any] = {"index": inst.index, "id": inst.id, "gold": inst.gold, "logprobs": lp,
                               "num_tokens": nt, "num_chars": nc, "num_bytes": nb}
        if unc is not None:
            row["uncond_logprobs"] = unc
        row.update(instance_metrics(inst.gold, lp, nt, nc, nb, unc))
        if clean is not None:
            row["clean"] = bool(clean.get(inst.id, True))
        rows.append(row)
    metrics = mean_metrics([{k: v for k, v in r.items() if k in (*NORMALIZATIONS, "bits_per_byte")} for r in rows])
    metrics["num_instances"] = len(rows)
    if clean is not None:
        kept = [r for r in rows if r["clean"]]
        metrics["num_clean"] = len(kept)
        for k, v in mean_metrics([{m: r[m] for m in (*NORMALIZATIONS, "bits_per_byte") if m in r} for r in kept]).items():
            metrics[f"clean/{k}"] = v
    ci = bootstrap_ci([r[task.primary_metric] for r in rows], num_samples=bootstrap_samples)
    return TaskResult(task.name, task.config_hash, task.primary_metric, task.group, metrics, ci, rows,
                      np.asarray(logprob, dtype=np.float64))


def evaluate_compiled(model: Any, tokenizer: Any, tasks: Sequence[CompiledTask], *,
                      token_budget: int | None = None, tokenized: list[list[TokenRequest]] | None = None,
                      clean: Mapping[str, Mapping[str, bool]] | None = None, bootstrap_samples: int = 1000,
                      progress: Callable[[int], None] | None = None) -> dict[str, TaskResult]:
    """Score ``tasks`` with ``model``; ``tokenized`` (from :func:`tokenize_tasks`) skips re-tokenizing."""
    if tokenized is None:
        tokenized = tokenize_tasks(tokenizer, tasks, int(model.eos_token_id))
    flat = [r for reqs in tokenized for r in reqs]
    scores = score_requests(model, flat, token_budget=token_budget, progress=progress)
    results, start = {}, 0
    for task, reqs in zip(tasks, tokenized):
        end = start + len(reqs)
        flags = clean.get(task.name) if clean is not None else None
        results[task.name] = _task_result(task, scores.logprob[start:end], scores.num_tokens[start:end], flags,
                                          bootstrap_samples)
        start = end
    return results


def group_metrics(results: Mapping[str, TaskResult]) -> dict[str, dict[str, float]]:
    """Macro averages (unweighted over member tasks) of each metric for every group, e.g. MMLU."""
    groups: dict[str, list[TaskResult]] = {}
    for r in results.values():
        if r.group:
            groups.setdefault(r.group, []).append(r)
    out = {}
    for name, members in groups.items():
        keys = [k for k in members[0].metrics if k != "num_instances" and all(k in m.metrics for m in members)]
        agg = {k: float(np.mean([m.metrics[k] for m in members])) for k in keys}
        agg["num_tasks"] = len(members)
        agg["num_instances"] = int(sum(m.metrics["num_instances"] for m in members))
        agg["primary_metric"] = members[0].primary_metric  # type: ignore[assignment]
        agg["primary"] = agg[members[0].primary_metric]
        out[name] = agg
    return out
