"""The atomic-write helper: a file appears whole or not at all, and the temporaries a killed writer left
(``.<name>.tmp-<pid>`` of a process that is gone) are removed by the next write of the same file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from olmo_core.fileio import atomic_path, sweep_stale_temporaries, write_atomic


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_the_next_write_removes_what_a_killed_writer_left(tmp_path: Path) -> None:
    dead, alive = _dead_pid(), os.getppid()
    (tmp_path / f".out.json.tmp-{dead}").write_text('{"half": ')
    (tmp_path / f".hf.tmp-{dead}").mkdir()  # a folder written whole, killed before its rename
    (tmp_path / f".hf.tmp-{dead}" / "model.safetensors").write_bytes(b"\0" * 10)
    (tmp_path / f".out.json.tmp-{alive}").write_text("")  # a live writer's: left alone
    (tmp_path / ".other.json.tmp-1x").write_text("")  # not a pid: not ours
    write_atomic(tmp_path / "out.json", "{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [".hf.tmp-" + str(dead), f".out.json.tmp-{alive}", ".other.json.tmp-1x", "out.json"])
    assert sweep_stale_temporaries(tmp_path / "hf") == [tmp_path / f".hf.tmp-{dead}"]
    assert not (tmp_path / f".hf.tmp-{dead}").exists()
    assert (tmp_path / "out.json").read_text() == "{}"


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.txt", "old")
    with pytest.raises(RuntimeError), atomic_path(tmp_path / "a.txt") as tmp:
        tmp.write_text("new, half")
        raise RuntimeError("disk gone")
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"] and (tmp_path / "a.txt").read_text() == "old"
