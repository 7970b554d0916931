"""A full disk stops a run: it is raised (naming the file) instead of being recorded against one file
after another, queued files never start, and no temporary is left; markers a killed driver was writing
are cleared when the next run starts."""

from __future__ import annotations

import errno
import time
from pathlib import Path
from typing import Any

import pytest

from dolma_tools.docio import atomic_output
from dolma_tools.executor import DoneMarkers, Task, run_tasks


def write_or_fill(payload: dict[str, Any], report) -> dict[str, Any]:  # noqa: ANN001
    with atomic_output(payload["out"], "w") as f:
        f.write("partial")
        if payload["full"]:
            raise OSError(errno.ENOSPC, "No space left on device")
        time.sleep(0.3)
        f.write(" and the rest")
    return {"docs": 1}


def _tasks(out: Path, n: int) -> list[Task]:
    # the failing task is the biggest, so the pool starts it first
    return [Task(key=f"t{i}", size=n - i, payload={"out": str(out / f"{i}.txt"), "full": i == 0}) for i in range(n)]


@pytest.mark.parametrize("processes", [1, 2])
def test_a_full_disk_stops_the_run(tmp_path: Path, processes: int) -> None:
    out = tmp_path / "out"
    with pytest.raises(OSError) as exc:
        run_tasks(write_or_fill, _tasks(out, 12), processes=processes, done_dir=tmp_path / "done", progress=False)
    assert exc.value.errno == errno.ENOSPC and exc.value.filename == str(out / "0.txt")
    written = sorted(p.name for p in out.iterdir()) if out.is_dir() else []
    assert "0.txt" not in written and not [w for w in written if ".tmp-" in w]
    # the queue was dropped, not run: without that all 11 others would be written (0.3 s each); with it only
    # those a worker already held (2 workers, one call queued ahead) unless the driver stalls for seconds
    assert len(written) <= (0 if processes == 1 else 5), written
    assert all((out / w).read_text() == "partial and the rest" for w in written)
    marked = list((tmp_path / "done").glob("*.done.json")) if (tmp_path / "done").is_dir() else []
    assert len(marked) <= len(written)


def test_done_markers_clear_a_killed_drivers_temporaries(tmp_path: Path) -> None:
    done = tmp_path / "done"
    done.mkdir()
    (done / "t0-abc.done.json.tmp-4242").write_text('{"key": "t0"')
    markers = DoneMarkers(done)
    assert list(done.iterdir()) == [] and markers.load("t0") is None
