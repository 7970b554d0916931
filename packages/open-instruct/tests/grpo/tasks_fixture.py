"""Task records in the ``open_instruct.tasks`` JSONL format, made by hand for the GRPO tests."""

from __future__ import annotations

import json
from pathlib import Path


def task_records(n: int) -> list[dict]:
    out = []
    for i in range(n):
        a, b = 3 + i, 4 + 2 * i
        answer = str(a + b)
        out.append({"id": f"toy-{i}", "family": "arithmetic", "split": "train",
                    "messages": [{"role": "user", "content": f"What is {a} + {b}?"},
                                 {"role": "assistant", "content": answer}],
                    "answer": answer, "verifier": {"name": "exact", "args": {"answer": answer}}})
    return out


def write_tasks(path: Path, n: int) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in task_records(n)))
    return path


def toy_reward(example: dict, text: str) -> float:
    """A reward that varies across a group of a random model's completions."""
    return float(len(text) % 3) / 2
