"""cgroup v2 limits where a cgroup is delegated. This machine's runners are cgroup v1 with no
delegated v2 controllers, so what runs here is the set-up logic on a directory laid out like a
cgroup v2 one (the kernel's interface files are plain text files), and refusing a path that is not
on a cgroup v2 file system."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from olmo_eval.sandbox import cgroups


def _fake_cgroup(root: Path, procs: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "cgroup.controllers").write_text("cpuset cpu io memory pids\n")
    (root / "cgroup.subtree_control").write_text("")
    (root / "cgroup.procs").write_text(procs)
    return root


def test_prepare_enables_memory_and_pids_for_children(tmp_path: Path) -> None:
    base = _fake_cgroup(tmp_path / "delegated", procs=f"{os.getpid()}\n")
    assert cgroups.prepare(base) == base
    # our own process moved to a leaf first (no internal processes), then the controllers enabled
    assert (base / "olmo-eval-harness" / "cgroup.procs").read_text() == str(os.getpid())
    assert (base / "cgroup.subtree_control").read_text() == "+memory +pids"


def test_prepare_leaves_other_peoples_processes_alone(tmp_path: Path) -> None:
    base = _fake_cgroup(tmp_path / "shared", procs="1\n2\n")
    assert cgroups.prepare(base) is None
    assert (base / "cgroup.subtree_control").read_text() == ""


def test_prepare_needs_both_controllers(tmp_path: Path) -> None:
    base = _fake_cgroup(tmp_path / "cpu-only")
    (base / "cgroup.controllers").write_text("cpu io\n")
    assert cgroups.prepare(base) is None


def test_a_sandbox_cgroup_gets_its_limits(tmp_path: Path) -> None:
    base = _fake_cgroup(tmp_path / "delegated")
    (base / "cgroup.subtree_control").write_text("memory pids")
    group = cgroups.SandboxCgroup(base, memory_bytes=3 << 30, pids=18)
    assert (group.path / "memory.max").read_text() == str(3 << 30)
    assert (group.path / "pids.max").read_text() == "18"
    assert group.procs == str(group.path / "cgroup.procs")
    (group.path / "memory.events").write_text("low 0\nhigh 0\nmax 4\noom 1\noom_kill 1\n")
    assert group.events()["oom_kill"] == 1


def test_a_path_off_cgroup2_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a directory on a cgroup v2 file system"):
        cgroups.find_delegated(str(tmp_path))
    assert cgroups.find_delegated("off") is None


def test_a_run_joins_its_cgroup_before_bubblewrap_starts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The whole path with a delegated cgroup, on the cgroup-shaped tree: the launcher writes its
    pid into the sandbox's cgroup.procs (then becomes bubblewrap), the limits are written, and
    RLIMIT_AS is the whole memory budget (the cgroup, not the per-process share, bounds the total)."""
    from olmo_eval.sandbox import Outcome, SandboxConfig, programs, run_program

    base = _fake_cgroup(tmp_path / "delegated")
    (base / "cgroup.subtree_control").write_text("memory pids")
    made: list[cgroups.SandboxCgroup] = []

    class Recorded(cgroups.SandboxCgroup):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

        def remove(self, timeout: float = 5.0) -> None:  # a plain directory cannot be rmdir'd like a cgroup
            pass

    monkeypatch.setattr(programs.cgroups, "find_delegated", lambda setting: base)
    monkeypatch.setattr(programs.cgroups, "SandboxCgroup", Recorded)
    config = SandboxConfig(wall_seconds=10, memory_bytes=768 << 20, nproc=12)
    result = run_program("import resource\nprint(resource.getrlimit(resource.RLIMIT_AS)[0])", config)
    assert result.outcome == Outcome.PASSED and int(result.stdout) == 768 << 20
    group = made[-1]  # (the first may be the sandbox's self-test)
    assert int((group.path / "cgroup.procs").read_text()) > 1
    assert (group.path / "memory.max").read_text() == str((768 << 20) + config.tmp_bytes + config.shm_bytes)
    assert (group.path / "pids.max").read_text() == str(12 + 2)
