"""Compiled request files round-trip for both kinds of task and bad files are refused with file and line."""

from __future__ import annotations

import gzip

import pytest

from olmo_eval.requests import (
    GenerateUntil,
    GenInstance,
    RequestFileError,
    compile_task,
    load_compiled,
    save_compiled,
)
from olmo_eval.tasks import get_task


def test_round_trip(tmp_path) -> None:
    task = compile_task(get_task("winogrande", limit=4))
    path = save_compiled(task, tmp_path / "wg.jsonl.gz")
    back = load_compiled(path)
    assert back.requests == task.requests and back.instances == task.instances
    assert back.config_hash == task.config_hash and back.kind == "ranked_classification"
    assert not (tmp_path / "wg.jsonl.gz.tmp").exists()


def test_generation_tasks_use_the_same_file(tmp_path) -> None:
    task = compile_task(get_task("codex_mbpp", limit=3), prompt_style="chat")
    back = load_compiled(save_compiled(task, tmp_path / "mbpp.jsonl.gz"))
    assert back.kind == "generation" and back.requests == task.requests and back.instances == task.instances
    assert all(isinstance(r, GenerateUntil) for r in back.requests)
    assert all(isinstance(i, GenInstance) for i in back.instances)
    assert [r.instance for r in back.requests] == [0, 1, 2] and back.requests[0].stop_sequences[0] == "```"


def test_bad_lines_and_truncation_named(tmp_path) -> None:
    path = save_compiled(compile_task(get_task("copa", limit=2)), tmp_path / "c.jsonl.gz")
    lines = gzip.open(path, "rt").read().splitlines()
    bad = tmp_path / "bad.jsonl.gz"
    with gzip.open(bad, "wt") as f:
        f.write("\n".join([lines[0], lines[1], "{not json"]) + "\n")
    with pytest.raises(RequestFileError, match=r"bad.jsonl.gz:3: malformed JSON"):
        load_compiled(bad)
    short = tmp_path / "short.jsonl.gz"
    with gzip.open(short, "wt") as f:
        f.write("\n".join(lines[:-1]) + "\n")
    with pytest.raises(RequestFileError, match="header counts"):
        load_compiled(short)
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(RequestFileError, match="cut.jsonl.gz"):
        load_compiled(cut)
