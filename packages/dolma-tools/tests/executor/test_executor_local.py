"""The local pool: every task runs once, markers make a second run skip finished tasks, a failed or
killed task leaves no finished-looking output and runs again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from dolma_tools.docio import atomic_output, iter_attributes, iter_documents, write_documents
from dolma_tools.executor import Task, run_tasks


def square_file(payload: dict[str, Any], report) -> dict[str, Any]:  # noqa: ANN001
    if Path(payload["fail_flag"]).exists() and payload["n"] == 3:
        raise ValueError("task 3 fails while the flag exists")
    with atomic_output(payload["out"], "w") as f:
        f.write(str(payload["n"] ** 2))
    report(docs=1, nbytes=1)
    return {"docs": 1, "square": payload["n"] ** 2, "pid": os.getpid()}


def _tasks(tmp_path: Path) -> list[Task]:
    return [Task(key=f"t{n}", size=n, payload={"n": n, "out": str(tmp_path / "out" / f"{n}.txt"),
                                               "fail_flag": str(tmp_path / "flag")}) for n in range(6)]


@pytest.mark.parametrize("processes", [1, 2])
def test_resume_after_a_failure(tmp_path: Path, processes: int) -> None:
    (tmp_path / "flag").touch()
    first = run_tasks(square_file, _tasks(tmp_path), processes=processes, done_dir=tmp_path / "done", progress=False)
    assert first.finished == 5 and list(first.failures) == ["t3"]
    assert "task 3 fails" in first.failures["t3"]
    assert not (tmp_path / "out" / "3.txt").exists() and not list((tmp_path / "out").glob("*.tmp-*"))
    if processes == 2:  # really in worker processes
        assert os.getpid() not in {s["pid"] for s in first.stats.values()}
    (tmp_path / "flag").unlink()
    second = run_tasks(square_file, _tasks(tmp_path), processes=processes, done_dir=tmp_path / "done",
                       progress=False)
    assert second.ok and second.finished == 1 and second.resumed == 5
    assert {k: s["square"] for k, s in second.stats.items()} == {f"t{n}": n * n for n in range(6)}
    assert (tmp_path / "out" / "3.txt").read_text() == "9"


def test_killed_tag_run_resumes_without_partial_files(tmp_path: Path) -> None:
    """SIGKILL a real ``dolma-tools tag`` midway: finished files have markers and complete attributes,
    nothing else looks finished, and the rerun only does what is left."""
    corpus = Path(__file__).resolve().parents[4].parent / "shared" / "data" / "corpus" / "books"
    docs = [d for _, d in iter_documents(next(corpus.glob("*.jsonl.zst")))][:240]
    for i in range(8):
        write_documents(tmp_path / "documents" / f"part-{i}.jsonl.gz", docs[i * 30:(i + 1) * 30])
    cmd = [sys.executable, "-m", "dolma_tools.cli", "tag", "--documents", str(tmp_path / "documents"),
           "--taggers", "gopher_v1", "repetition_v1", "--experiment", "q", "--processes", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    markers = tmp_path / "attributes" / ".done" / "tag-q"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(markers.glob("*.done.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(list(markers.glob("*.done.json")))
    assert 2 <= done_before
    out_dir = tmp_path / "attributes" / "q"
    finished = sorted(out_dir.glob("part-*.jsonl.gz"))
    for f in finished:  # anything with the final name is complete
        assert len(list(iter_attributes(f))) == 30

    result = subprocess.run([*cmd, "--json"], capture_output=True, text=True, check=True)
    summary = json.loads(result.stdout)
    assert summary["resumed"] == done_before and summary["finished"] == 8 - done_before
    assert len(list(out_dir.glob("part-*.jsonl.gz"))) == 8 and not list(out_dir.glob("*.tmp-*"))


def test_task_keys_unique() -> None:
    with pytest.raises(ValueError, match="unique"):
        run_tasks(square_file, [Task("a", {}), Task("a", {})], progress=False)
