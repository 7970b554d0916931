"""Generation: ``generate_until`` requests through a generating model, gold bits per byte, and the
resumable per-task loop the runner's generation evaluator calls.

``generate_until``: requests are grouped by their sampling settings, sorted by prompt length within a
group (less padding, and the same batches every run), and sent ``batch_size`` at a time to a
:class:`~olmo_eval.interfaces.GenerativeLanguageModel`. Stop sequences are checked on the decoded
text, which is what defines them; their token ids are also passed to the model so that a row can
stop early (a token-level match always implies a text match, never the other way round).

Bits per byte of a gold continuation: ``-sum log2 p(continuation tokens | context)`` divided by the
continuation's UTF-8 bytes. Cheap (one forward), and it moves for models far too small to get a
single generated answer right.

Records: ``<out>/<task>/instances.jsonl``: line 1 is a header (task, config hash, prompt style);
then one line per finished instance: prompt, generations, extracted answers, verdicts, metrics, gold
bits per byte. Lines are appended after each batch and flushed, so an interrupted run keeps what it
finished; on resume the header must match, a torn last line is dropped, and only the missing
instances run. When every instance is done the task's metrics go to ``<out>/<task>/metrics.json``.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from olmo_eval.files import write_json
from olmo_eval.models import as_generative, model_device
from olmo_eval.progress import progress_bar
from olmo_eval.requests import CompiledTask, GenerateUntil, compile_task
from olmo_eval.tokenizer import encode_pair

RECORD_FORMAT = "olmo-eval/generation-instances"


def cut_at_stop(text: str, stop_sequences: Sequence[str]) -> str:
    """``text`` up to (not including) the earliest stop sequence."""
    end = len(text)
    for stop in stop_sequences:
        if stop:
            i = text.find(stop)
            if 0 <= i < end:
                end = i
    return text[:end]


def generate_until(model: Any, tokenizer: Any, requests: Sequence[GenerateUntil], *, batch_size: int = 8,
                   on_batch: Callable[[int], None] | None = None) -> list[str]:
    """Generated text for each request, in request order. ``tokenizer`` has ``encode`` and
    ``decode``. Prompts longer than the model's window keep their last tokens."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    eos = getattr(model, "eos_token_id", None)
    max_len = getattr(model, "max_sequence_length", None)
    groups: dict[tuple, list[int]] = defaultdict(list)
    encoded = [list(tokenizer.encode(r.prompt)) for r in requests]
    for i, r in enumerate(requests):
        groups[(r.max_new_tokens, r.temperature, r.top_p, r.seed, r.stop_sequences)].append(i)
    out: list[str | None] = [None] * len(requests)
    for (max_new, temperature, top_p, seed, stops), members in groups.items():
        members.sort(key=lambda i: (-len(encoded[i]), i))
        stop_ids = [ids for ids in (list(tokenizer.encode(s)) for s in stops) if ids]
        for start in range(0, len(members), batch_size):
            batch = members[start:start + batch_size]
            prompts = []
            for i in batch:
                ids = encoded[i]
                if max_len is not None and len(ids) + max_new > max_len:
                    keep = max(1, max_len - max_new)
                    ids = ids[-keep:]
                prompts.append(ids)
            new_ids = model.generate(prompts, max_new, stop_sequences_ids=stop_ids or None,
                                     temperature=temperature, top_p=top_p, seed=seed)
            for i, ids in zip(batch, new_ids):
                ids = list(ids)
                if eos is not None and eos in ids:
                    ids = ids[: ids.index(eos)]
                out[i] = cut_at_stop(tokenizer.decode(ids), stops)
            if on_batch is not None:
                on_batch(len(batch))
    return [o if o is not None else "" for o in out]


@torch.no_grad()
def bits_per_byte(model: Any, tokenizer: Any, pairs: Sequence[tuple[str, str]]) -> list[float | None]:
    """One value per ``(context, continuation)``; None for an empty continuation. Inputs longer
    than the model's window keep their last tokens (the continuation is always scored whole when
    it fits)."""
    device = model_device(model)
    max_len = int(getattr(model, "max_sequence_length", 2048))
    vocab = int(model.vocab_size)
    out: list[float | None] = []
    for context, continuation in pairs:
        nbytes = len(continuation.encode("utf-8"))
        ctx, cont = encode_pair(tokenizer, context, continuation)
        if not cont or nbytes == 0:
            out.append(None)
            continue
        if not ctx:
            ctx = [int(model.eos_token_id)]
        ids = (ctx + cont)[-(max_len + 1):]
        n = min(len(cont), len(ids) - 1)
        inp = torch.tensor([ids[:-1]], device=device)
        logits = model(inp)[0, -n:, :vocab].float()
        targets = torch.tensor(ids[-n:], device=device)
        nll = -torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None]).sum().item()
        out.append(nll / math.log(2) / nbytes)
    return out


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


def run_generation_task(task: Any, model: Any, tokenizer: Any, *, out_dir: str | Path | None = None,
                        prompt_style: str = "base", batch_size: int = 8, compute_bpb: bool = True,
                        sandbox_config: Any = None, progress: bool = True,
                        compiled: CompiledTask | None = None, model_id: str = "") -> dict[str, Any]:
    """Generate, extract and score every instance of ``task``; returns the task's metrics.
    ``compiled``: the task's requests as read back from its request file (default: compiled here).
    ``model_id`` (``olmo_eval.models.model_identity``) goes into the records' header, so records of
    another model are never resumed as this one's."""
    model = as_generative(model)
    if compiled is None:
        compiled = compile_task(task, prompt_style=prompt_style)
    instances = compiled.instances
    by_instance = {r.instance: r for r in compiled.requests}
    header = {"format": RECORD_FORMAT, "version": 1, "task": task.name, "config_hash": task.config_hash(),
              "prompt_style": prompt_style, **({"model": model_id} if model_id else {})}
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
    try:
        with progress_bar(progress, f"{task.name} ({prompt_style})", len(instances),
                          len(instances) - len(todo)) as advance:
            for start in range(0, len(todo), max(1, batch_size)):
                batch = todo[start:start + batch_size]
                reqs: list[GenerateUntil] = []
                for inst in batch:
                    base = by_instance[inst.index]
                    reqs += [dataclasses.replace(base, seed=None if base.seed is None else base.seed + s)
                             for s in range(n)]
                texts = generate_until(model, tokenizer, reqs, batch_size=batch_size * n)
                bpbs = (bits_per_byte(model, tokenizer, [task.gold_pair(i, prompt_style) for i in batch])
                        if compute_bpb else [None] * len(batch))
                for j, inst in enumerate(batch):
                    gens = texts[j * n:(j + 1) * n]
                    scored = task.score(inst, gens, prompt_style, sandbox_config=sandbox_config)
                    rec = {"index": inst.index, "id": inst.id, "prompt": reqs[j * n].prompt, "generations": gens,
                           **scored, "bits_per_byte": bpbs[j]}
                    records[inst.index] = rec
                    if fh is not None:
                        fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                if fh is not None:
                    fh.flush()
                advance(len(batch))
    finally:
        if fh is not None:
            fh.close()
    metrics = task.aggregate([records[i.index] for i in instances])
    metrics.update(task=task.name, prompt_style=prompt_style, config_hash=task.config_hash())
    if out_dir is not None:
        write_json(Path(out_dir) / task.name / "metrics.json", metrics)
    return metrics


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The per-instance records of a finished ``instances.jsonl`` (its header left out)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()[1:]]
