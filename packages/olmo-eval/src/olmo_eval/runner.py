"""The runner: tasks in, request files, per-instance outputs and a metrics table out, for every kind
of task. Each kind has its evaluator in :data:`EVALUATORS` (``@register_evaluator``): ranked
classification scores log-likelihood requests (:mod:`olmo_eval.ranked`), generation runs
``generate_until`` requests (:mod:`olmo_eval.generative`). Both write the task's compiled requests
first and evaluate exactly what they read back, as the in-loop evaluator would.

Output folder::

    requests/<task>.jsonl.gz      the compiled requests (versioned, hashed), every kind
    predictions/<task>.jsonl.gz   ranked: one line per instance (per-choice statistics, predictions)
    generation/<task>/            generation: instances.jsonl (records, resumable) and metrics.json
    results/<task>.json           the task's metrics, CI and config hash (a finished ranked task is skipped on rerun)
    metrics.json                  every task and group (e.g. the MMLU macro average)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from olmo_eval.files import write_json, write_jsonl
from olmo_eval.generative import read_records, run_generation_task
from olmo_eval.metrics import bootstrap_ci
from olmo_eval.progress import progress_bar
from olmo_eval.ranked import TaskResult, evaluate_compiled, group_metrics
from olmo_eval.requests import GENERATION, RANKED_CLASSIFICATION, compile_task, load_compiled, save_compiled
from olmo_eval.tasks import expand, get_task

#: kind -> evaluator(model, tokenizer, tasks, out_dir, **options) -> {task name: summary dict}
EVALUATORS: dict[str, Callable[..., dict[str, dict[str, Any]]]] = {}


def register_evaluator(kind: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def deco(fn: Callable[..., Any]) -> Callable[..., Any]:
        EVALUATORS[kind] = fn
        return fn

    return deco


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


def _compiled(task: Any, out_dir: Path, **request_options: Any) -> Any:
    """Write ``task``'s requests and read them back: what is evaluated is what the file says."""
    path = save_compiled(compile_task(task, **request_options), out_dir / "requests" / f"{task.name}.jsonl.gz")
    return load_compiled(path)


@register_evaluator(RANKED_CLASSIFICATION)
def evaluate_ranked_classification(model: Any, tokenizer: Any, tasks: Sequence[Any], out_dir: Path, *,
                                   token_budget: int | None = None, model_id: str = "",
                                   clean: Mapping[str, Mapping[str, bool]] | None = None,
                                   show_progress: bool = True, **_: Any) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    todo = []
    for task in tasks:
        compiled = _compiled(task, out_dir)
        res_path = out_dir / "results" / f"{task.name}.json"
        if model_id and res_path.exists():  # without a model identity nothing is reused
            prev = json.loads(res_path.read_text())
            if prev.get("config_hash") == compiled.config_hash and prev.get("model") == model_id:
                done[task.name] = prev
                continue
        todo.append(compiled)
    if todo:
        total = sum(len(t.requests) for t in todo)
        with progress_bar(show_progress, f"scoring {len(todo)} task(s)", total) as advance:
            # One task at a time, each written as soon as it is scored: a task's figures then depend on
            # its own requests only (batches mixing tasks pad differently, which moves the last bits of
            # a log-prob), so a task finished after a restart scores exactly as in an uninterrupted run,
            # and a kill loses at most the task being scored.
            for compiled in todo:
                result = evaluate_compiled(model, tokenizer, [compiled], token_budget=token_budget, clean=clean,
                                           progress=advance)[compiled.name]
                # predictions first: a results file is written only once everything it summarises is
                write_jsonl(out_dir / "predictions" / f"{compiled.name}.jsonl.gz", result.instances)
                entry = {**summary(result), "model": model_id}
                write_json(out_dir / "results" / f"{compiled.name}.json", entry, default=float)
                done[compiled.name] = entry
    return done


@register_evaluator(GENERATION)
def evaluate_generation(model: Any, tokenizer: Any, tasks: Sequence[Any], out_dir: Path, *, model_id: str = "",
                        show_progress: bool = True, prompt_style: str | None = None, batch_size: int = 8,
                        compute_bpb: bool = True, sandbox_config: Any = None,
                        **_: Any) -> dict[str, dict[str, Any]]:
    """Per task: records under ``out_dir/generation/<task>/`` (resumable) and a runner summary. The
    prompt style is ``prompt_style``, else ``model.prompt_style`` when the caller set it, else
    ``"base"``."""
    style = prompt_style or getattr(model, "prompt_style", None) or "base"
    records_dir = out_dir / "generation"
    out: dict[str, dict[str, Any]] = {}
    for task in tasks:
        metrics = run_generation_task(task, model, tokenizer, out_dir=records_dir, prompt_style=style,
                                      batch_size=batch_size, compute_bpb=compute_bpb,
                                      sandbox_config=sandbox_config, progress=show_progress,
                                      compiled=_compiled(task, out_dir, prompt_style=style), model_id=model_id)
        per_instance = [_instance_primary(task, r) for r in read_records(records_dir / task.name / "instances.jsonl")]
        ci95 = bootstrap_ci(per_instance) if per_instance else (0.0, 0.0)
        entry = {"task": task.name, "config_hash": task.config_hash(), "group": None,
                 "primary_metric": metrics["primary_metric"], "primary": metrics["primary_score"],
                 "ci95": list(ci95), "metrics": metrics, "model": model_id}
        write_json(out_dir / "results" / f"{task.name}.json", entry, default=float)
        out[task.name] = entry
    return out


def _instance_primary(task: Any, record: dict[str, Any]) -> float:
    key = task.primary_metric
    return float(record["metrics"].get(key, record["metrics"].get("pass@1", 0.0)))


def run(model: Any, tokenizer: Any, tasks: str | Sequence[str], out_dir: str | Path, *,
        num_shots: int | None = None, limit: int | None = None, overrides: Mapping[str, Any] | None = None,
        token_budget: int | None = None, model_id: str = "", clean_flags: str | Path | None = None,
        show_progress: bool = True, **options: Any) -> dict[str, Any]:
    """Evaluate ``tasks`` (names or suites, any kind) and write everything under ``out_dir``; returns
    metrics.json. ``overrides`` replace task config fields (``num_shots`` and ``limit`` too);
    ``options`` go to the evaluators (generation: ``prompt_style``, ``batch_size``, ``compute_bpb``,
    ``sandbox_config``)."""
    out = Path(out_dir)
    fields: dict[str, Any] = dict(overrides or {})
    if num_shots is not None:
        fields["num_shots"] = num_shots
    if limit is not None:
        fields["limit"] = limit
    task_objs = [get_task(n, **fields) for n in expand(tasks)]
    clean = load_clean_flags(clean_flags)
    by_kind: dict[str, list[Any]] = {}
    for t in task_objs:
        by_kind.setdefault(t.kind, []).append(t)
    entries: dict[str, dict[str, Any]] = {}
    for kind, members in by_kind.items():
        if kind not in EVALUATORS:
            raise KeyError(f"no evaluator registered for task kind {kind!r} ({members[0].name})")
        entries.update(EVALUATORS[kind](model, tokenizer, members, out, token_budget=token_budget,
                                        model_id=model_id, clean=clean, show_progress=show_progress, **options))
    groups = _groups(entries)
    metrics = {"model": model_id, "tasks": {t.name: entries[t.name] for t in task_objs}, "groups": groups}
    write_json(out / "metrics.json", metrics, default=float)
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


def generation_table(metrics: Mapping[str, Any]) -> Any:
    """A rich table of the generation tasks: style, primary score, bits per byte, sandbox outcomes."""
    from rich.table import Table

    table = Table(title="generation tasks")
    for col in ("task", "style", "n", "primary", "score", "bits/byte", "outcomes"):
        table.add_column(col)
    for name, e in metrics["tasks"].items():
        m = e["metrics"]
        if "prompt_style" not in m:
            continue
        bpb = m.get("bits_per_byte")
        outcomes = " ".join(f"{k}={v}" for k, v in (m.get("outcomes") or {}).items())
        table.add_row(name, m["prompt_style"], str(m.get("num_instances", 0)), m["primary_metric"],
                      f"{m['primary_score']:.4f}", "" if bpb is None else f"{bpb:.4f}", outcomes)
    return table
