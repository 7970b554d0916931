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
