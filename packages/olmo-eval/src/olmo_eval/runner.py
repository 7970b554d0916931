"""The offline runner: tasks in, request files, per-instance predictions and a metrics table out.

Output folder::

    requests/<task>.jsonl.gz      the compiled requests (versioned, hashed)
    predictions/<task>.jsonl.gz   one line per instance: per-choice statistics, predictions, correctness
    results/<task>.json           the task's metrics, CI and config hash (a finished task is skipped on rerun)
    metrics.json                  every task and group (e.g. the MMLU macro average)

Kinds of task other than ranked classification register their evaluator in :data:`EVALUATORS`.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from olmo_eval.evaluator import TaskResult, evaluate_compiled, group_metrics
from olmo_eval.requests_file import compile_task, load_compiled, save_compiled
from olmo_eval.tasks.base import RANKED_CLASSIFICATION
from olmo_eval.tasks.registry import expand, get_task

#: kind -> evaluator(model, tokenizer, tasks, out_dir, **options) -> {task name: summary dict}
EVALUATORS: dict[str, Callable[..., dict[str, dict[str, Any]]]] = {}


def register_evaluator(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        EVALUATORS[kind] = fn
        return fn

    return deco


def _write_json(path: Path, obj: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False, default=float) + "\n")
    os.replace(tmp, path)


def _write_predictions(path: Path, result: TaskResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with gzip.open(tmp, "wt", encoding="utf-8") as f:
        for row in result.instances:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    os.replace(tmp, path)


def summary(result: TaskResult) -> dict[str, Any]:
    return {"task": result.name, "config_hash": result.config_hash, "group": result.group,
            "primary_metric": result.primary_metric, "primary": result.primary,
            "ci95": list(result.ci95), "metrics": result.metrics}


def load_clean_flags(path: str | Path | None) -> dict[str, dict[str, bool]] | None:
    """``{task: {instance id: clean}}`` as written by ``olmo-eval decontaminate``."""
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        return json.load(f)


@register_evaluator(RANKED_CLASSIFICATION)
def evaluate_ranked_classification(model: Any, tokenizer: Any, tasks: Sequence[Any], out_dir: Path, *,
                                   token_budget: int | None = None, model_id: str = "",
                                   clean: Mapping[str, Mapping[str, bool]] | None = None,
                                   show_progress: bool = True, **_: Any) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    todo = []
    for task in tasks:
        compiled = compile_task(task)
        req_path = out_dir / "requests" / f"{task.name}.jsonl.gz"
        save_compiled(compiled, req_path)
        res_path = out_dir / "results" / f"{task.name}.json"
        if model_id and res_path.exists():  # without a model identity nothing is reused
            prev = json.loads(res_path.read_text())
            if prev.get("config_hash") == compiled.config_hash and prev.get("model") == model_id:
                done[task.name] = prev
                continue
        # Score exactly what was written, as the in-loop evaluator would read it.
        todo.append(load_compiled(req_path))
    if todo:
        total = sum(len(t.requests) for t in todo)
        with _progress(show_progress, total, f"scoring {len(todo)} task(s)") as advance:
            results = evaluate_compiled(model, tokenizer, todo, token_budget=token_budget, clean=clean,
                                        progress=advance)
        for name, result in results.items():
            _write_predictions(out_dir / "predictions" / f"{name}.jsonl.gz", result)
            entry = {**summary(result), "model": model_id}
            _write_json(out_dir / "results" / f"{name}.json", entry)
            done[name] = entry
    return done


class _progress:
    def __init__(self, enabled: bool, total: int, description: str) -> None:
        self.enabled, self.total, self.description = enabled, total, description

    def __enter__(self) -> Callable[[int], None] | None:
        if not self.enabled:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

        self._p = Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                           TimeRemainingColumn(), transient=False)
        self._p.start()
        tid = self._p.add_task(self.description, total=self.total)
        return lambda n: self._p.advance(tid, n)

    def __exit__(self, *exc: Any) -> None:
        if self.enabled:
            self._p.stop()


def run(model: Any, tokenizer: Any, tasks: str | Sequence[str], out_dir: str | Path, *,
        num_shots: int | None = None, limit: int | None = None, token_budget: int | None = None,
        model_id: str = "", clean_flags: str | Path | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Evaluate ``tasks`` (names or suites) and write everything under ``out_dir``; returns metrics.json."""
    out = Path(out_dir)
    overrides: dict[str, Any] = {}
    if num_shots is not None:
        overrides["num_shots"] = num_shots
    if limit is not None:
        overrides["limit"] = limit
    task_objs = [get_task(n, **overrides) for n in expand(tasks)]
    clean = load_clean_flags(clean_flags)
    by_kind: dict[str, list[Any]] = {}
    for t in task_objs:
        by_kind.setdefault(t.kind, []).append(t)
    entries: dict[str, dict[str, Any]] = {}
    for kind, members in by_kind.items():
        if kind not in EVALUATORS:
            raise KeyError(f"no evaluator registered for task kind {kind!r} ({members[0].name})")
        entries.update(EVALUATORS[kind](model, tokenizer, members, out, token_budget=token_budget,
                                        model_id=model_id, clean=clean, show_progress=show_progress))
    groups = _groups(entries)
    metrics = {"model": model_id, "tasks": {t.name: entries[t.name] for t in task_objs}, "groups": groups}
    _write_json(out / "metrics.json", metrics)
    return metrics


def _groups(entries: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    fake = {}
    for name, e in entries.items():
        if e.get("group"):
            fake[name] = TaskResult(name, e["config_hash"], e["primary_metric"], e["group"], dict(e["metrics"]),
                                    tuple(e["ci95"]), [], None)  # type: ignore[arg-type]
    return group_metrics(fake)


def results_table(metrics: Mapping[str, Any]) -> Any:
    """A rich table: one row per task not in a group, one per group."""
    from rich.table import Table

    table = Table(title=f"olmo-eval {metrics.get('model', '')}".strip())
    for col in ("task", "primary metric", "value", "95% CI", "acc_raw", "acc_per_char", "bits/byte", "n"):
        table.add_column(col, justify="right" if col not in ("task", "primary metric") else "left")
    for name, e in metrics["tasks"].items():
        if e.get("group"):
            continue
        m = e["metrics"]
        table.add_row(name, e["primary_metric"], f"{e['primary']:.4f}",
                      f"[{e['ci95'][0]:.3f}, {e['ci95'][1]:.3f}]", f"{m.get('acc_raw', float('nan')):.4f}",
                      f"{m.get('acc_per_char', float('nan')):.4f}", f"{m.get('bits_per_byte', float('nan')):.4f}",
                      str(int(m.get("num_instances", 0))))
    for name, g in metrics.get("groups", {}).items():
        table.add_row(f"{name} (macro, {g['num_tasks']} tasks)", str(g["primary_metric"]), f"{g['primary']:.4f}", "",
                      f"{g.get('acc_raw', float('nan')):.4f}", f"{g.get('acc_per_char', float('nan')):.4f}",
                      f"{g.get('bits_per_byte', float('nan')):.4f}", str(g["num_instances"]))
    return table
