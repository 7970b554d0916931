"""How Bloom dedup's input files reach the filter's owner: as streams of bounded chunks, in file order.

Local executor: with ``processes`` >= 2, ``processes`` workers (``dedupe.hash_worker``, fresh
interpreters that load no NumPy and no filter) hash every file into *spool* files (one pickled
``UnitBatch`` per chunk) in a private temporary folder (``dedupe.workdir``: swept by the next run if a
kill left it), which the owner reads back a chunk at a time and deletes; each worker runs one file
ahead of the owner, as a pool would. The owner hashes nothing itself: it holds NumPy and the filter,
so reading, decompressing and parsing documents there would put a zstd window and a chunk of text on
top of the run's largest process, and would leave the hashing workers idle while it marks. With one
process the owner hashes inline. Neither side ever holds more than a chunk of a file.

Ray: one task per file returns the file's chunks (the driver then holds one file's hashes, as
before); the chunking, hence every byte written, is the same."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dolma_tools.dedupe.config import BloomDedupeConfig
from dolma_tools.dedupe.layout import ordered_map
from dolma_tools.dedupe.unitbatch import CHUNK_ITEMS, UnitBatch, iter_unit_chunks
from dolma_tools.dedupe.workdir import make_work_dir

SPOOL_PREFIX = "dedupe-spool-"


@dataclass(frozen=True)
class FileTask:
    path: Path
    config: BloomDedupeConfig
    chunk_items: int = CHUNK_ITEMS

    def settings(self) -> dict[str, Any]:
        """``iter_unit_chunks``'s keywords."""
        cfg = self.config
        return {"mode": cfg.mode, "key": cfg.key, "ngram_length": cfg.ngram_length, "skip_empty": cfg.skip_empty,
                "min_length": cfg.min_length, "seed": cfg.seed, "chunk_items": self.chunk_items}


def file_chunks(task: FileTask) -> Iterator[UnitBatch]:
    return iter_unit_chunks(task.path, **task.settings())


def read_spool(path: str) -> Iterator[UnitBatch]:
    """The chunks of a spool file, one at a time; the file is deleted once read."""
    try:
        with open(path, "rb") as f:
            while True:
                try:
                    yield pickle.load(f)
                except EOFError:
                    return
    finally:
        os.unlink(path)


def _hash_file(task: FileTask) -> list[UnitBatch]:
    """A Ray task: every chunk of one file (the kill tests find this work function by name)."""
    return list(file_chunks(task))


def file_chunk_streams(tasks: Sequence[FileTask], processes: int, executor: str = "local",
                       ray_address: str | None = None) -> Iterator[Iterator[UnitBatch]]:
    """Per task, in order, an iterator over its file's chunks (consume each before taking the next)."""
    if executor != "local":
        for chunks in ordered_map(_hash_file, tasks, processes, executor, ray_address):
            yield iter(chunks)
        return
    if processes <= 1 or not tasks:
        yield from map(file_chunks, tasks)
        return
    workers = min(processes, len(tasks))
    spool = str(make_work_dir(None, SPOOL_PREFIX))  # a killed run's spool is swept by the next run
    pool = [_Worker() for _ in range(workers)]
    try:
        def submit(i: int) -> None:
            if i < len(tasks):
                pool[i % workers].submit(tasks[i], os.path.join(spool, f"{i:07d}.chunks"))

        for i in range(workers):  # every worker's first file
            submit(i)
        for i in range(len(tasks)):
            got = pool[i % workers].result()
            submit(i + workers)  # its next file, while its last one is being read
            yield read_spool(got)
    finally:
        for w in pool:
            w.close()
        shutil.rmtree(spool, ignore_errors=True)


class _Worker:
    """One ``dedupe.hash_worker`` process and its one request in flight."""

    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}  # this process's imports
        self.proc = subprocess.Popen([sys.executable, "-m", "dolma_tools.dedupe.hash_worker"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)

    def submit(self, task: FileTask, out: str) -> None:
        assert self.proc.stdin is not None
        pickle.dump((str(task.path), out, task.settings()), self.proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.proc.stdin.flush()

    def result(self) -> str:
        assert self.proc.stdout is not None
        try:
            status, value = pickle.load(self.proc.stdout)
        except EOFError:
            raise RuntimeError(f"a dedupe hashing worker (pid {self.proc.pid}) died (exit {self.proc.wait()})") from None
        if status == "error":
            raise value
        return value

    def close(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # busy with a file nobody will read: stop it
                self.proc.kill()
                self.proc.wait()
