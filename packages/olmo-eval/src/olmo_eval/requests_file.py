"""Compiled tasks: the exact requests a task produces, written to a versioned file.

Offline runs and the in-loop evaluator both score :class:`CompiledTask` objects, so they read
identical requests. File layout (gzip JSON lines): a header ``{"format": "olmo-eval/requests",
"version": 1, "task", "kind", "config_hash", "primary_metric", "group", "num_instances",
"num_requests"}``, then one ``{"instance": ...}`` line per instance and one ``{"request": ...}`` line
per request.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from olmo_eval.tasks.base import Instance, Request

REQUESTS_FORMAT = "olmo-eval/requests"
REQUESTS_VERSION = 1


class RequestFileError(ValueError):
    """A request file is malformed; the message names the file and line."""


@dataclass
class CompiledTask:
    name: str
    kind: str
    config_hash: str
    primary_metric: str
    group: str | None
    instances: list[Instance]
    requests: list[Request]


def compile_task(task: Any) -> CompiledTask:
    return CompiledTask(name=task.name, kind=task.kind, config_hash=task.config_hash(),
                        primary_metric=task.config.primary_metric, group=task.group,
                        instances=task.instances(), requests=task.requests())


def save_compiled(task: CompiledTask, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {"format": REQUESTS_FORMAT, "version": REQUESTS_VERSION, "task": task.name, "kind": task.kind,
              "config_hash": task.config_hash, "primary_metric": task.primary_metric, "group": task.group,
              "num_instances": len(task.instances), "num_requests": len(task.requests)}
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=6, mtime=0) as gz:
        lines = [header]
        lines += [{"instance": dataclasses.asdict(i)} for i in task.instances]
        lines += [{"request": dataclasses.asdict(r)} for r in task.requests]
        for obj in lines:
            gz.write((json.dumps(obj, ensure_ascii=False, separators=(",", ":")) + "\n").encode())
    os.replace(tmp, path)
    return path


def load_compiled(path: str | Path) -> CompiledTask:
    path = Path(path)
    instances: list[Instance] = []
    requests: list[Request] = []
    header: dict[str, Any] = {}
    try:
        with gzip.open(path, "rt", encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as e:
                    raise RequestFileError(f"{path}:{lineno}: malformed JSON ({e})") from e
                if lineno == 1:
                    if obj.get("format") != REQUESTS_FORMAT or obj.get("version") != REQUESTS_VERSION:
                        raise RequestFileError(f"{path}:1: not an {REQUESTS_FORMAT} v{REQUESTS_VERSION} file")
                    header = obj
                elif "instance" in obj:
                    d = obj["instance"]
                    instances.append(Instance(**{**d, "texts": tuple(d.get("texts", ()))}))
                elif "request" in obj:
                    requests.append(Request(**obj["request"]))
                else:
                    raise RequestFileError(f"{path}:{lineno}: expected an 'instance' or 'request' line")
    except (OSError, EOFError) as e:
        raise RequestFileError(f"{path}: unreadable or truncated ({e})") from e
    if len(instances) != header["num_instances"] or len(requests) != header["num_requests"]:
        raise RequestFileError(f"{path}: header counts {header['num_instances']} instances / "
                               f"{header['num_requests']} requests, file has {len(instances)} / {len(requests)}")
    return CompiledTask(name=header["task"], kind=header["kind"], config_hash=header["config_hash"],
                        primary_metric=header["primary_metric"], group=header.get("group"),
                        instances=instances, requests=requests)
