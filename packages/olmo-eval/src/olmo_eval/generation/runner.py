"""Run generation tasks on a model, writing one record per instance, resumable.

``<out>/<task>/instances.jsonl``: line 1 is a header (task, config hash, prompt style); then one
line per finished instance: prompt, generations, extracted answers, verdicts, metrics, gold bits per
byte. Lines are appended after each batch and flushed, so an interrupted run keeps what it
finished; on resume the header must match, a torn last line is dropped, and only the missing
instances run. When every instance is done the task's metrics go to ``<out>/<task>/metrics.json``
(written under a temporary name, then renamed) and the suite's to ``<out>/generation_metrics.json``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from olmo_eval.generation.bpb import bits_per_byte
from olmo_eval.generation.requests import GenerateUntil, generate_until
from olmo_eval.generation.tasks import GEN6, CodeTask, GenerationTask, get_generation_task

RECORD_FORMAT = "olmo-eval/generation-instances"


def _atomic_json(path: Path, obj: Any) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _load_records(path: Path, header: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Finished records of an earlier run with the same header; a torn last line is cut off."""
    if not path.exists():
        return {}
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    complete = lines[:-1]  # everything before the last newline; the rest is a torn write
    if not complete:
        path.unlink()
        return {}
    try:
        found = json.loads(complete[0])
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}:1: header is not JSON ({exc.msg}); delete the file to start over") from exc
    if found != header:
        raise ValueError(f"{path}:1: written by another configuration ({found}, now {header}); "
                         "use another --out or delete the file")
    records: dict[int, dict[str, Any]] = {}
    good = len(complete[0]) + 1
    for lineno, line in enumerate(complete[1:], start=2):
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}:{lineno}: corrupt record ({exc.msg})") from exc
        records[int(rec["index"])] = rec
        good += len(line) + 1
    if good != len(raw):
        with open(path, "r+b") as fh:
            fh.truncate(good)
    return records


def run_generation_task(task: GenerationTask, model: Any, codec: Any, *, out_dir: str | Path | None = None,
                        prompt_style: str = "base", batch_size: int = 8, compute_bpb: bool = True,
                        sandbox_config: Any = None, progress: bool = True) -> dict[str, Any]:
    """Generate, extract and score every instance of ``task``; returns the task's metrics."""
    instances = task.instances()
    header = {"format": RECORD_FORMAT, "version": 1, "task": task.name, "config_hash": task.config_hash(),
              "prompt_style": prompt_style}
    records: dict[int, dict[str, Any]] = {}
    fh = None
    if out_dir is not None:
        task_dir = Path(out_dir) / task.name
        task_dir.mkdir(parents=True, exist_ok=True)
        path = task_dir / "instances.jsonl"
        records = _load_records(path, header)
        fh = open(path, "a", encoding="utf-8")
        if not records and path.stat().st_size == 0:
            fh.write(json.dumps(header) + "\n")
            fh.flush()
    todo = [inst for inst in instances if inst.index not in records]
    n = task.config.num_samples
    bar = _progress(progress, f"{task.name} ({prompt_style})", len(instances), len(instances) - len(todo))
    try:
        for start in range(0, len(todo), max(1, batch_size)):
            batch = todo[start:start + batch_size]
            reqs: list[GenerateUntil] = []
            for inst in batch:
                base = task.request(inst, prompt_style)
                for s in range(n):
                    seed = None if base.seed is None else base.seed + s
                    reqs.append(GenerateUntil(base.prompt, base.stop_sequences, base.max_new_tokens,
                                              base.temperature, base.top_p, seed))
            texts = generate_until(model, codec, reqs, batch_size=batch_size * n)
            bpbs = (bits_per_byte(model, codec, [task.gold_pair(i, prompt_style) for i in batch])
                    if compute_bpb else [None] * len(batch))
            for j, inst in enumerate(batch):
                gens = texts[j * n:(j + 1) * n]
                if isinstance(task, CodeTask):
                    scored = task.score(inst, gens, prompt_style, sandbox_config=sandbox_config)
                else:
                    scored = task.score(inst, gens, prompt_style)
                rec = {"index": inst.index, "id": inst.id, "prompt": reqs[j * n].prompt, "generations": gens,
                       **scored, "bits_per_byte": bpbs[j]}
                records[inst.index] = rec
                if fh is not None:
                    fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
            if fh is not None:
                fh.flush()
            bar.advance(len(batch))
    finally:
        bar.close()
        if fh is not None:
            fh.close()
    metrics = task.aggregate([records[i.index] for i in instances])
    metrics.update(task=task.name, prompt_style=prompt_style, config_hash=task.config_hash())
    if out_dir is not None:
        _atomic_json(Path(out_dir) / task.name / "metrics.json", metrics)
    return metrics


def run_generation_suite(model: Any, codec: Any, tasks: Sequence[str] | str = GEN6, *,
                         out_dir: str | Path | None = None, prompt_style: str = "base",
                         overrides: dict[str, Any] | None = None, batch_size: int = 8,
                         compute_bpb: bool = True, sandbox_config: Any = None,
                         progress: bool = True) -> dict[str, dict[str, Any]]:
    """Every task in ``tasks`` (names, or ``"gen6"``), with the same config ``overrides`` (e.g.
    ``limit``, ``max_new_tokens``); prints a summary table when ``progress``."""
    names = expand_generation_tasks(tasks)
    results = {}
    for name in names:
        task = get_generation_task(name, **(overrides or {}))
        results[name] = run_generation_task(task, model, codec, out_dir=out_dir, prompt_style=prompt_style,
                                            batch_size=batch_size, compute_bpb=compute_bpb,
                                            sandbox_config=sandbox_config, progress=progress)
    if out_dir is not None:
        _atomic_json(Path(out_dir) / "generation_metrics.json", results)
    if progress:
        print_summary(results)
    return results


def expand_generation_tasks(tasks: Sequence[str] | str) -> list[str]:
    if isinstance(tasks, str):
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    out: list[str] = []
    for name in tasks:
        for member in (GEN6 if name == "gen6" else (name,)):
            if member not in out:
                out.append(member)
    return out


def print_summary(results: dict[str, dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="generation tasks")
    for col in ("task", "style", "n", "primary", "score", "bits/byte", "outcomes"):
        table.add_column(col)
    for name, m in results.items():
        bpb = m.get("bits_per_byte")
        outcomes = " ".join(f"{k}={v}" for k, v in (m.get("outcomes") or {}).items())
        table.add_row(name, m.get("prompt_style", ""), str(m.get("num_instances", 0)), m["primary_metric"],
                      f"{m['primary_score']:.4f}", "" if bpb is None else f"{bpb:.4f}", outcomes)
    Console(stderr=True).print(table)


class _NoBar:
    def advance(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


class _RichBar:
    def __init__(self, desc: str, total: int, done: int) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                                 TimeRemainingColumn(), transient=False)
        self.progress.start()
        self.task = self.progress.add_task(desc, total=total, completed=done)

    def advance(self, n: int) -> None:
        self.progress.advance(self.task, n)

    def close(self) -> None:
        self.progress.stop()


def _progress(enabled: bool, desc: str, total: int, done: int) -> Any:
    return _RichBar(desc, total, done) if enabled else _NoBar()
