"""Where attribute files go and how files are fanned out to worker processes."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

from dolma_tools.docio import atomic_output
from dolma_tools.interfaces import FormatError, attributes_path

T = TypeVar("T")
R = TypeVar("R")


def common_root(paths: Sequence[Path]) -> Path:
    if not paths:
        raise ValueError("no input files")
    return Path(os.path.commonpath([str(p.resolve().parent) for p in paths]))


def attribute_file(doc_path: Path, name: str, *, root: Path, destination: str | Path | None) -> Path:
    """``destination/<path relative to root>`` when a destination is given, else the contract's
    ``.../attributes/<name>/<rel>`` beside a ``documents`` folder."""
    if destination is not None:
        return Path(destination) / doc_path.resolve().relative_to(root)
    try:
        return attributes_path(doc_path, name)
    except FormatError as e:
        raise FormatError(f"{e}; pass --destination to write attributes elsewhere", path=doc_path) from None


def write_attribute_file(path: Path, doc_ids: Sequence[str], key: str,
                         spans: Sequence[list[list[float]]]) -> None:
    """One line per document, same order as the documents, every line carrying ``key``."""
    with atomic_output(path, "w") as f:
        for doc_id, s in zip(doc_ids, spans, strict=True):
            f.write(json.dumps({"id": doc_id, "attributes": {key: s}}, ensure_ascii=False) + "\n")


def ordered_map(fn: Callable[[T], R], items: Iterable[T], processes: int) -> Iterator[R]:
    """``map`` in input order, over ``processes`` forked workers (inline when 1)."""
    items = list(items)
    if processes <= 1 or len(items) <= 1:
        yield from map(fn, items)
        return
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
    with ctx.Pool(min(processes, len(items))) as pool:
        yield from pool.imap(fn, items, chunksize=1)


def summary_line(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, sort_keys=True)
