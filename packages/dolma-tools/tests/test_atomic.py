"""The atomic writer's housekeeping: temporaries of killed writers are removed by name or by folder
(never a finished file, never another name's), and a full disk is reported naming the file written."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from dolma_tools.atomic import atomic_path, is_disk_full, remove_stale_temporaries, sweep_temporaries


def _touch(*paths: Path) -> None:
    for p in paths:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("x")


def test_remove_stale_temporaries_takes_only_that_names_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "a[1].jsonl"  # glob characters in the name are literal
    _touch(target, tmp_path / "a[1].jsonl.tmp-12", tmp_path / "a[1].jsonl.tmp-345",
           tmp_path / "a1.jsonl.tmp-12", tmp_path / "b.jsonl.tmp-7")
    assert remove_stale_temporaries(target) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a1.jsonl.tmp-12", "a[1].jsonl", "b.jsonl.tmp-7"]


def test_sweep_temporaries_clears_a_folder_once(tmp_path: Path) -> None:
    _touch(tmp_path / "part-00000.npy", tmp_path / "part-00001.npy.tmp-991", tmp_path / ".m.done.json.tmp-5",
           tmp_path / "notes.tmp-draft", tmp_path / "sub" / "x.jsonl.tmp-4", tmp_path / "sub" / "x.jsonl")
    assert sweep_temporaries(tmp_path) == 2  # not below, not a name whose tail is not a pid
    assert (tmp_path / "sub" / "x.jsonl.tmp-4").exists() and (tmp_path / "notes.tmp-draft").exists()
    assert sweep_temporaries(tmp_path, recursive=True) == 1
    left = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file())
    assert left == ["notes.tmp-draft", "part-00000.npy", "sub/x.jsonl"]
    assert sweep_temporaries(tmp_path / "missing") == 0


def test_a_full_disk_names_the_file_and_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out" / "part-00003.npy"
    with pytest.raises(OSError) as exc, atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")  # what write() raises: no file named
    assert exc.value.errno == errno.ENOSPC and exc.value.filename == str(target) and is_disk_full(exc.value)
    assert list((tmp_path / "out").iterdir()) == []


def test_other_errors_pass_unchanged(tmp_path: Path) -> None:
    with pytest.raises(OSError) as exc, atomic_path(tmp_path / "f") as tmp:
        tmp.write_bytes(b"x")
        raise OSError(errno.EIO, "Input/output error")
    assert exc.value.errno == errno.EIO and exc.value.filename is None and not is_disk_full(exc.value)
    assert list(tmp_path.iterdir()) == []
