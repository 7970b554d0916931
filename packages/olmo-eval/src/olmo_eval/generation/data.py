"""The generation tasks' requests shipped in ``olmo_eval/data/eval_gen/<task>/`` (see LICENSES.md)."""

from __future__ import annotations

import gzip
import json
from functools import cache
from pathlib import Path
from typing import Any


class GenerationDataError(ValueError):
    """A shipped request file is missing or malformed; the message names file and line."""


def data_root() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "eval_gen"


@cache
def load_requests(folder: str, root: str | None = None) -> tuple[dict[str, Any], ...]:
    """Every line of ``<root>/<folder>/requests.jsonl.gz``, checked for ``doc`` and ``request``."""
    path = Path(root) if root else data_root()
    path = path / folder / "requests.jsonl.gz"
    if not path.exists():
        raise GenerationDataError(f"{path}: no such file")
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise GenerationDataError(f"{path}:{lineno}: invalid JSON ({exc.msg})") from exc
            for key in ("doc", "request"):
                if not isinstance(row.get(key), dict):
                    raise GenerationDataError(f"{path}:{lineno}: missing object field {key!r}")
            for key in ("context", "continuation"):
                if not isinstance(row["request"].get(key), str):
                    raise GenerationDataError(f"{path}:{lineno}: missing string field request.{key}")
            rows.append(row)
    return tuple(rows)


def load_config(folder: str) -> dict[str, Any]:
    path = data_root() / folder / "config.json"
    return json.loads(path.read_text(encoding="utf-8"))
