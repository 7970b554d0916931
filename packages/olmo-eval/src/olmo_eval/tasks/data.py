"""The task data shipped inside the package: OLMES-sampled evaluation documents and few-shot examples
of the ranked tasks, and the generation tasks' shipped requests.

Each dataset is one gzip JSON-lines file under ``olmo_eval/data/``: line 1 is a header naming the source,
split, sampling rule and licence; every further line is ``{"i": index in the source split, "role":
"eval" | "fewshot", "doc": {...raw dataset fields...}}`` in evaluation order. They are written by
:mod:`olmo_eval.tasks.build_data` from the HF datasets in ``../shared/data/eval`` and read here with no
network access. OLMES's curated few-shot examples live in ``olmo_eval/data/fewshot.json``.

The generation tasks read ``olmo_eval/data/eval_gen/<task>/requests.jsonl.gz`` (oe-eval's request
dumps: one ``{"doc": {...}, "request": {"context", "continuation", ...}}`` per line) and the
``config.json`` beside it (see ``data/eval_gen/LICENSES.md``).
"""

from __future__ import annotations

import functools
import json
import random
from importlib import resources
from pathlib import Path
from typing import Any

from olmo_eval.files import read_jsonl_gz

DATA_FORMAT = "olmo-eval/task-data"
DATA_VERSION = 1

#: OLMES's rule: a split with more than SAMPLE_THRESHOLD instances is cut to SAMPLE_LIMIT, drawn with
#: ``random.Random(SAMPLE_SEED).sample`` (kept in the order drawn).
SAMPLE_THRESHOLD = 1500
SAMPLE_LIMIT = 1000
SAMPLE_SEED = 1234


class TaskDataError(ValueError):
    """A shipped task-data file is missing or malformed; the message names the file and line."""


def olmes_sample(docs: list[Any], *, limit: int | None = SAMPLE_LIMIT, threshold: int = SAMPLE_THRESHOLD,
                 seed: int = SAMPLE_SEED) -> list[int]:
    """Indices of the documents OLMES evaluates, in evaluation order."""
    indices = list(range(len(docs)))
    if limit is None or len(docs) <= threshold:
        return indices
    return random.Random(seed).sample(indices, limit)


def data_dir() -> Path:
    return Path(str(resources.files("olmo_eval") / "data"))


@functools.cache
def load_dataset_file(name: str) -> tuple[dict[str, Any], tuple[dict[str, Any], ...]]:
    """``(header, rows)`` of the shipped file ``<name>.jsonl.gz``."""
    path = data_dir() / f"{name}.jsonl.gz"
    if not path.exists():
        raise TaskDataError(f"{path}: no shipped task data named {name!r}")
    rows: list[dict[str, Any]] = []
    for lineno, obj in read_jsonl_gz(path, TaskDataError):
        if lineno == 1:
            if obj.get("format") != DATA_FORMAT or obj.get("version") != DATA_VERSION:
                raise TaskDataError(f"{path}:1: expected format {DATA_FORMAT!r} version {DATA_VERSION}")
            header = obj
            continue
        for key in ("i", "role", "doc"):
            if key not in obj:
                raise TaskDataError(f"{path}:{lineno}: missing field {key!r}")
        rows.append(obj)
    return header, tuple(rows)


def eval_docs(name: str) -> list[tuple[int, dict[str, Any]]]:
    """``(source index, doc)`` of the evaluation documents, in OLMES order."""
    return [(r["i"], r["doc"]) for r in load_dataset_file(name)[1] if r["role"] == "eval"]


def heldout_fewshot_docs(name: str) -> list[dict[str, Any]]:
    """Few-shot documents held out of the evaluation split (datasets OLMES gives no curated examples)."""
    return [r["doc"] for r in load_dataset_file(name)[1] if r["role"] == "fewshot"]


@functools.cache
def olmes_fewshot() -> dict[str, list[dict[str, Any]]]:
    path = data_dir() / "fewshot.json"
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    return {k: v for k, v in data.items() if not k.startswith("_")}


def generation_data_root() -> Path:
    return data_dir() / "eval_gen"


@functools.cache
def load_generation_requests(folder: str) -> tuple[dict[str, Any], ...]:
    """Every line of ``eval_gen/<folder>/requests.jsonl.gz``, checked for ``doc`` and ``request``."""
    path = generation_data_root() / folder / "requests.jsonl.gz"
    rows = []
    for lineno, row in read_jsonl_gz(path, TaskDataError):
        for key in ("doc", "request"):
            if not isinstance(row.get(key), dict):
                raise TaskDataError(f"{path}:{lineno}: missing object field {key!r}")
        for key in ("context", "continuation"):
            if not isinstance(row["request"].get(key), str):
                raise TaskDataError(f"{path}:{lineno}: missing string field request.{key}")
        rows.append(row)
    return tuple(rows)


@functools.cache
def load_generation_config(folder: str) -> dict[str, Any]:
    path = generation_data_root() / folder / "config.json"
    return json.loads(path.read_text(encoding="utf-8"))
