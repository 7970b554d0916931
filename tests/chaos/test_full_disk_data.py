"""A full disk under ``dolma-tools tag`` and ``dolma-tools tokens`` (issue 22): the destination is a small
tmpfs, smaller than what the command writes. The command must stop with one line naming the file it was
writing (no traceback, exit status non-zero), leave no temporary and no half-written file under a final
name, and, once the space is there (the tmpfs grown in place), the same command must finish with exactly
the tree of an uninterrupted run.

Sizes: ``tag`` gets half of what its outputs take (it fails midway through the attribute files), ``tokens``
one and a half times (its work units fit, the shards packed from them do not). Mounting needs root (or a
user namespace); under ``CI=true`` a failed mount fails the test instead of skipping it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path

import pytest

from .conftest import assert_same_outputs, command_env
from .harness import leftover_temporaries, tmpfs, tree_digest
from .test_chaos_data import CASES, _argv

PAGE = 4096
# name -> (tmpfs size as a fraction of the reference output, files a failed run may hold that the finished
# one removes)
FULL_DISK = {"tag": (0.5, []), "tokens": (1.5, [".work/*"])}


def _footprint(root: Path) -> int:
    """Bytes ``root``'s files take on a tmpfs (whole pages)."""
    return sum(-(-p.stat().st_size // PAGE) * PAGE for p in root.rglob("*") if p.is_file())


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs mount point, unmounted at the end; its size is set with :func:`_resize`."""
    with tmpfs(tmp_path / "disk", "64k") as disk:
        yield disk


def _resize(disk: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(disk)], check=True)


@pytest.mark.parametrize("name", list(FULL_DISK))
def test_full_disk_stops_cleanly_and_the_rerun_finishes(name: str, corpus_slice: Path, reference_runs,
                                                         small_disk: Path) -> None:
    case = CASES[name]
    fraction, work_files = FULL_DISK[name]
    reference, _ = reference_runs(name, lambda dest: _argv(case, corpus_slice, dest))
    size = int(_footprint(reference) * fraction) // PAGE * PAGE
    _resize(small_disk, size)
    dest = small_disk / "out"

    res = subprocess.run(_argv(case, corpus_slice, dest), env=command_env(), capture_output=True, text=True,
                         timeout=300)
    output = res.stdout + res.stderr
    print(f"{name} on a {size:,}-byte tmpfs: rc={res.returncode}\n{res.stderr.strip()}")
    assert res.returncode not in (0, -9), output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in res.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, res.stderr
    assert f"dolma-tools {case.argv(corpus_slice, dest)[3]}: error: No space left on device writing {dest}/" \
        in errors[0], errors[0]
    assert leftover_temporaries(small_disk) == []

    # nothing under a final name that is not finished: every file the finished run also has is already
    # byte-identical to it, and the rest are the work files a finished run removes
    ref = tree_digest(reference, ignore=list(case.volatile))
    left = tree_digest(dest, ignore=list(case.volatile))
    assert left, "the failed run wrote nothing: the tmpfs is too small to test a run stopped midway"
    half = [rel for rel, digest in left.items() if rel in ref and ref[rel] != digest]
    assert not half, f"files differing from the finished run's: {half}"
    stray = [rel for rel in left if rel not in ref and not any(fnmatch(rel, p) for p in work_files)]
    assert not stray, f"files a finished run does not have: {stray}"
    assert ref.keys() - left.keys(), "the failed run wrote every file: nothing was cut short"

    _resize(small_disk, 64 << 20)  # the space is freed; the same command again
    res = subprocess.run(_argv(case, corpus_slice, dest), env=command_env(), capture_output=True, text=True,
                         timeout=300)
    assert res.returncode == 0, (res.stdout + res.stderr)[-3000:]
    assert leftover_temporaries(dest) == []
    assert assert_same_outputs(reference, dest, case.volatile) >= len(ref)
