"""MinHash's stage folders: a folder left by a dead process of this host is swept when the next run
makes its own; a live owner's folder, a kept one and another host's are not."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from dolma_tools.dedupe.workdir import KEEP, _host, make_work_dir, sweep_dead


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_dead_owners_folders_are_swept_live_and_kept_ones_stay(tmp_path: Path) -> None:
    host, dead = _host(), _dead_pid()
    left = tmp_path / f"minhash-{host}-{dead}-abc123"
    kept = tmp_path / f"minhash-{host}-{dead}-kept_1"
    live = tmp_path / f"minhash-{host}-{os.getppid()}-live_1"
    other = tmp_path / f"minhash-elsewhere-{dead}-xyz"
    for d in (left, kept, live, other):
        (d / "sig").mkdir(parents=True)
        (d / "sig" / "f000000.keys.npy").write_bytes(b"x")
    (kept / KEEP).touch()
    work = make_work_dir(tmp_path)
    assert work.parent == tmp_path and work.name.startswith(f"minhash-{host}-{os.getpid()}-")
    assert not left.exists()
    assert kept.exists() and live.exists() and other.exists()
    assert sweep_dead(tmp_path) == []  # this run's own folder is never swept
    assert work.exists()
