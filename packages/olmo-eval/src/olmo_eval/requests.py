"""Requests, and compiled tasks: the exact requests a task produces, written to a versioned file.

Two kinds of request, one per kind of task:

- :class:`Request` (``ranked_classification``): the log-likelihood of ``continuation`` after
  ``context``, one per choice (and per choice again after ``"Answer:"`` for PMI);
- :class:`GenerateUntil` (``generation``): text generated after ``prompt``, cut at the first stop
  sequence, at most ``max_new_tokens``, greedy or seeded nucleus sampling.

Offline runs and the in-loop evaluator score :class:`CompiledTask` objects, so they read identical
requests. File layout (gzip JSON lines), the same for every kind: a header ``{"format":
"olmo-eval/requests", "version": 1, "task", "kind", "config_hash", "primary_metric", "group",
"num_instances", "num_requests"}``, then one ``{"instance": ...}`` line per instance and one
``{"request": ...}`` line per request; the header's ``kind`` says which types the lines hold
(:data:`RECORD_TYPES`). Files written before generation tasks had request files read unchanged.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_eval.files import read_jsonl_gz, write_jsonl

REQUESTS_FORMAT = "olmo-eval/requests"
REQUESTS_VERSION = 1

RANKED_CLASSIFICATION = "ranked_classification"
GENERATION = "generation"


class RequestFileError(ValueError):
    """A request file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Instance:
    """One ranked-classification instance."""

    index: int
    id: str
    gold: int
    num_choices: int
    #: raw text of the eval document, one paragraph per entry, for decontamination
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Request:
    """Log-likelihood of ``continuation`` given ``context``."""

    instance: int
    choice: int
    context: str
    continuation: str
    uncond: bool = False


@dataclass(frozen=True)
class GenInstance:
    """One generation instance: the shipped document and its request as shipped."""

    index: int
    id: str
    doc: dict[str, Any]
    request: dict[str, Any]


@dataclass(frozen=True)
class GenerateUntil:
    """Text generated after ``prompt`` (for instance ``instance``), cut at the first stop sequence."""

    prompt: str
    stop_sequences: tuple[str, ...] = ()
    max_new_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    seed: int | None = None
    instance: int = 0


#: task kind -> (instance type, request type) of its request file's lines
RECORD_TYPES: dict[str, tuple[type, type]] = {
    RANKED_CLASSIFICATION: (Instance, Request),
    GENERATION: (GenInstance, GenerateUntil),
}


@dataclass
class CompiledTask:
    name: str
    kind: str
    config_hash: str
    primary_metric: str
    group: str | None
    instances: list[Any]
    requests: list[Any]


def compile_task(task: Any, **request_options: Any) -> CompiledTask:
    """``task``'s instances and requests; ``request_options`` go to ``task.requests`` (a generation
    task's ``prompt_style``)."""
    return CompiledTask(name=task.name, kind=task.kind, config_hash=task.config_hash(),
                        primary_metric=task.config.primary_metric, group=task.group,
                        instances=task.instances(), requests=task.requests(**request_options))


def save_compiled(task: CompiledTask, path: str | Path) -> Path:
    header = {"format": REQUESTS_FORMAT, "version": REQUESTS_VERSION, "task": task.name, "kind": task.kind,
              "config_hash": task.config_hash, "primary_metric": task.primary_metric, "group": task.group,
              "num_instances": len(task.instances), "num_requests": len(task.requests)}
    lines = [header]
    lines += [{"instance": dataclasses.asdict(i)} for i in task.instances]
    lines += [{"request": dataclasses.asdict(r)} for r in task.requests]
    return write_jsonl(path, lines, gzip_level=6, compact=True)


def _record(cls: type, fields: dict[str, Any]) -> Any:
    # JSON has no tuples: the tuple fields (texts, stop_sequences) come back as lists
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})


def load_compiled(path: str | Path) -> CompiledTask:
    path = Path(path)
    instances: list[Any] = []
    requests: list[Any] = []
    header: dict[str, Any] = {}
    types: tuple[type, type] = (Instance, Request)
    for lineno, obj in read_jsonl_gz(path, RequestFileError):
        if lineno == 1:
            if obj.get("format") != REQUESTS_FORMAT or obj.get("version") != REQUESTS_VERSION:
                raise RequestFileError(f"{path}:1: not an {REQUESTS_FORMAT} v{REQUESTS_VERSION} file")
            if obj.get("kind") not in RECORD_TYPES:
                raise RequestFileError(f"{path}:1: unknown kind {obj.get('kind')!r} "
                                       f"(known: {', '.join(RECORD_TYPES)})")
            header, types = obj, RECORD_TYPES[obj["kind"]]
        elif "instance" in obj:
            instances.append(_record(types[0], obj["instance"]))
        elif "request" in obj:
            requests.append(_record(types[1], obj["request"]))
        else:
            raise RequestFileError(f"{path}:{lineno}: expected an 'instance' or 'request' line")
    if len(instances) != header["num_instances"] or len(requests) != header["num_requests"]:
        raise RequestFileError(f"{path}: header counts {header['num_instances']} instances / "
                               f"{header['num_requests']} requests, file has {len(instances)} / {len(requests)}")
    return CompiledTask(name=header["task"], kind=header["kind"], config_hash=header["config_hash"],
                        primary_metric=header["primary_metric"], group=header.get("group"),
                        instances=instances, requests=requests)
