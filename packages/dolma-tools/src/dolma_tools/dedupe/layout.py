"""Where attribute files go and how files are fanned out to worker processes."""

from __future__ import annotations

import json
import multiprocessing as mp
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar

from dolma_tools.atomic import remove_stale_temporaries
from dolma_tools.docio import atomic_output, expand_inputs_with_base
from dolma_tools.executor.ordered import ordered_map as _ordered_map
from dolma_tools.interfaces import FormatError, attributes_path

T = TypeVar("T")
R = TypeVar("R")


def attribute_file(doc_path: Path, name: str, *, base: Path, destination: str | Path | None) -> Path:
    """``destination/<doc_path relative to base>`` when a destination is given (``base`` as
    ``docio.expand_inputs_with_base`` gives it, so the mixer finds the files with
    ``attributes_root=<parent of destination>``), else the contract's ``.../attributes/<name>/<rel>``
    beside a ``documents`` folder."""
    if destination is not None:
        return Path(destination) / doc_path.relative_to(base)
    try:
        return attributes_path(doc_path, name)
    except FormatError as e:
        raise FormatError(f"{e}; pass --destination to write attributes elsewhere", path=doc_path) from None


def input_files(inputs: str | Path | Iterable[str | Path]) -> list[tuple[Path, Path]]:
    files = expand_inputs_with_base(inputs)
    if not files:
        raise FileNotFoundError(f"no document files in {inputs!r}")
    return files


def write_attribute_file(path: Path, doc_ids: Sequence[str], key: str,
                         spans: Iterable[list[list[float]]], *, lines_per_write: int = 64) -> None:
    """One line per document, same order as the documents, every line carrying ``key``. ``spans`` may
    be a generator: lines are formatted and written ``lines_per_write`` at a time, so a file's
    attributes are never all in memory at once."""
    head = '"attributes": {' + json.dumps(key) + ": "
    dumps = json.dumps
    remove_stale_temporaries(path)  # what a killed run left while writing this file
    lines = (f'{{"id": {dumps(doc_id, ensure_ascii=False)}, {head}{dumps(s)}}}}}\n'
             for doc_id, s in zip(doc_ids, spans, strict=True))
    with atomic_output(path, "w") as f:
        while block := "".join(islice(lines, lines_per_write)):
            f.write(block)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], processes: int, executor: str = "local",
                ray_address: str | None = None) -> Iterator[R]:
    """``map`` in input order, over ``processes`` forked workers (inline when 1) or Ray tasks."""
    return _ordered_map(fn, items, processes, executor=executor, ray_address=ray_address)


def ordered_map_sharing_work(fn: Callable[[T], R], items: Iterable[T], processes: int) -> Iterator[R]:
    """``map`` in input order over ``processes`` hashers where the calling process is one of them: it
    computes every ``processes``-th item itself and a pool of ``processes - 1`` forked workers the rest.
    For a caller that otherwise waits on the pool (Bloom dedup's filter owner), this is the same
    parallelism with one interpreter fewer in memory. One item per worker is submitted ahead of
    the caller (the next is submitted when the caller takes its result), so finished results never
    pile up when the caller is the slower side: memory does not grow with the number of items."""
    items = list(items)
    if processes <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    theirs = iter([it for i, it in enumerate(items) if i % processes])
    workers = min(processes - 1, len(items) - 1)
    with ctx.Pool(workers) as pool:
        pending: deque[Any] = deque()

        def top_up() -> None:
            while len(pending) < workers:
                nxt = next(theirs, _END)
                if nxt is _END:
                    return
                pending.append(pool.apply_async(fn, (nxt,)))

        top_up()
        for i, it in enumerate(items):
            if i % processes == 0:
                yield fn(it)
            else:
                result = pending.popleft().get()
                top_up()
                yield result


_END = object()


def summary_line(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, sort_keys=True)
