"""A hashing worker of Bloom dedup: a fresh interpreter that hashes files into spool files on request.

Started by ``dedupe.spool`` as ``python -m dolma_tools.dedupe.hash_worker``, it reads pickled
``(path, spool path, settings)`` requests from stdin, one at a time, writes the file's chunks (one
pickled ``UnitBatch`` each) to the spool path, and answers ``("ok", spool path)`` or ``("error",
exception)`` on stdout; end of input ends it. A plain subprocess rather than a multiprocessing pool:
it loads the reader and the hasher only (no NumPy, no filter, no pool machinery, no resource-tracker
process), ~15 MiB resident against ~35 MiB for a spawned pool worker and its tracker."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path
from typing import Any, BinaryIO

from dolma_tools.dedupe.unitbatch import iter_unit_chunks


def spool_file(path: str | Path, out: str | Path, settings: dict[str, Any]) -> str:
    """Hash ``path`` into ``out``: its chunks (``iter_unit_chunks(path, **settings)``), pickled one by one."""
    with open(out, "wb") as f:
        for batch in iter_unit_chunks(path, **settings):
            pickle.dump(batch, f, protocol=pickle.HIGHEST_PROTOCOL)
    return str(out)


def serve(requests: BinaryIO, replies: BinaryIO) -> None:
    while True:
        try:
            path, out, settings = pickle.load(requests)
        except EOFError:
            return
        try:
            reply: tuple[str, Any] = ("ok", spool_file(path, out, settings))
        except Exception as e:  # noqa: BLE001 - handed to the parent, which raises it as its own
            reply = ("error", e)
        pickle.dump(reply, replies, protocol=pickle.HIGHEST_PROTOCOL)
        replies.flush()


if __name__ == "__main__":
    serve(sys.stdin.buffer, sys.stdout.buffer)
