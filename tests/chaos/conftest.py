"""Fixtures of the data-command chaos tests (``test_chaos_data.py``, ``test_full_disk_data.py``): a small
real slice of the shared corpus, the ``dolma-tools`` command line as an argv, reference runs made once per
session, and a comparison of two output trees that tolerates only the fields that record a run's times."""

from __future__ import annotations

import gzip
import io
import json
import os
import sys
from collections.abc import Callable, Sequence
from fnmatch import fnmatch
from pathlib import Path

import pytest
import zstandard

from .harness import timed_run, tree_digest

#: The first N documents of six real corpus files (about 3 M characters): every command runs in a few
#: seconds on 2 processes, there are several files per source (per-file resume), and the slice holds
#: real duplicates (manpage translations, licence headers, repeated verses) for dedupe and decontaminate.
SLICE_PLAN = {
    "manpages/manpages-0000.jsonl.zst": 60,
    "manpages/manpages-0001.jsonl.zst": 60,
    "code/code-0000.jsonl.zst": 30,
    "books/books-0000.jsonl.zst": 40,
    "kernel_docs/kernel_docs-0000.jsonl.zst": 30,
    "python_docs/python_docs-0000.jsonl.zst": 20,
}


def read_lines(path: Path, first: int = 0, count: int | None = None) -> list[str]:
    """Raw JSON lines ``first .. first+count`` of a ``.jsonl.zst`` corpus file."""
    out: list[str] = []
    with open(path, "rb") as raw, zstandard.ZstdDecompressor().stream_reader(raw) as r:
        for i, line in enumerate(io.TextIOWrapper(r, encoding="utf-8")):
            if count is not None and i >= first + count:
                break
            if i >= first:
                out.append(line)
    return out


@pytest.fixture(scope="session")
def corpus_slice(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("chaos_slice") / "corpus"
    for rel, n in SLICE_PLAN.items():
        out = root / rel.removesuffix(".zst")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text("".join(read_lines(shared_data / "corpus" / rel, 0, n)), encoding="utf-8")
    return root


def dolma_tools(*args: object) -> list[str]:
    """The argv of ``dolma-tools ARGS`` in this interpreter."""
    return [sys.executable, "-m", "dolma_tools.cli", *map(str, args)]


def command_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "OLMO_STACK_FAULT"}
    env.update(TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1")
    return env


@pytest.fixture(scope="session")
def reference_runs(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, Callable[[Path], list[str]]], tuple[Path, float]]:
    """``reference(name, argv_for)``: runs ``argv_for(destination)`` once per session, uninterrupted;
    returns the destination and the seconds it took (shared by the chaos and the full-disk tests)."""
    done: dict[str, tuple[Path, float]] = {}

    def reference(name: str, argv_for: Callable[[Path], list[str]]) -> tuple[Path, float]:
        if name not in done:
            dest = tmp_path_factory.mktemp(f"ref_{name}") / "out"
            seconds = timed_run(argv_for(dest), env=command_env(), timeout=300)
            done[name] = (dest, seconds)
        return done[name]

    return reference


def _without_root(path: Path, root: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data.replace(str(root.resolve()).encode(), b"<root>").replace(str(root).encode(), b"<root>")


def _normalized_json(path: Path, root: Path, volatile: Sequence[str]) -> object:
    """A JSON file with ``root`` spelt ``<root>`` and the ``volatile`` keys (at any depth) dropped."""
    text = path.read_text(encoding="utf-8").replace(str(root.resolve()), "<root>").replace(str(root), "<root>")

    def strip(obj: object) -> object:
        if isinstance(obj, dict):
            return {k: strip(v) for k, v in obj.items() if k not in volatile}
        if isinstance(obj, list):
            return [strip(v) for v in obj]
        return obj

    return strip(json.loads(text))


def assert_same_outputs(a: Path, b: Path, volatile: dict[str, Sequence[str]]) -> int:
    """Every file under ``a`` and ``b`` byte-identical (a file that names its own tree: once that path is
    written ``<root>``), except the JSON files matched by a ``volatile`` glob, which must be equal once the
    listed keys (times, "reused this run") are dropped and each tree's path is written ``<root>``.
    Returns the number of files compared."""
    globs = list(volatile)
    da, db = tree_digest(a, ignore=globs), tree_digest(b, ignore=globs)
    assert da.keys() == db.keys(), f"different files: only in A {sorted(da.keys() - db.keys())}, " \
                                   f"only in B {sorted(db.keys() - da.keys())}"
    # files naming their own tree (token metadata of a pipeline's work folder) compare with it spelt <root>
    differ = sorted(k for k in da if da[k] != db[k] and _without_root(a / k, a) != _without_root(b / k, b))
    assert not differ, f"files differ after resuming: {differ}"
    relaxed = 0
    for pattern, keys in volatile.items():
        # compared as collections: a done-marker's name hashes its input's path, which for a step reading
        # its own work folder differs between the trees (its content, path written <root>, does not)
        ja = sorted(_volatile(a, pattern, keys))
        jb = sorted(_volatile(b, pattern, keys))
        assert ja == jb, f"{pattern}: {len(ja)} files in A, {len(jb)} in B, or their contents differ"
        relaxed += len(ja)
    assert da or relaxed, f"{a} holds no files"
    return len(da) + relaxed


def _volatile(root: Path, pattern: str, keys: Sequence[str]) -> list[str]:
    files = [p for p in root.rglob("*") if p.is_file() and fnmatch(p.relative_to(root).as_posix(), pattern)]
    return [json.dumps(_normalized_json(p, root, keys), sort_keys=True) for p in files]
