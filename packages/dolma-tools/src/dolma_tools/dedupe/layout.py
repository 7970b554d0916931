"""Where attribute files go and how files are fanned out to worker processes."""

from __future__ import annotations

import json
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
    write_attribute_rows(path, key, zip(doc_ids, spans, strict=True), lines_per_write=lines_per_write)


def write_attribute_rows(path: Path, key: str, rows: Iterable[tuple[str, list[list[float]]]], *,
                         lines_per_write: int = 64) -> None:
    """:func:`write_attribute_file` from ``(document id, spans)`` pairs, for a producer that makes
    both as it goes (Bloom dedup marks a file chunk by chunk while it is written)."""
    head = '"attributes": {' + json.dumps(key) + ": "
    dumps = json.dumps
    remove_stale_temporaries(path)  # what a killed run left while writing this file
    lines = (f'{{"id": {dumps(doc_id, ensure_ascii=False)}, {head}{dumps(s)}}}}}\n' for doc_id, s in rows)
    with atomic_output(path, "w") as f:
        while block := "".join(islice(lines, lines_per_write)):
            f.write(block)


def ordered_map(fn: Callable[[T], R], items: Iterable[T], processes: int, executor: str = "local",
                ray_address: str | None = None) -> Iterator[R]:
    """``map`` in input order, over ``processes`` forked workers (inline when 1) or Ray tasks."""
    return _ordered_map(fn, items, processes, executor=executor, ray_address=ray_address)


def summary_line(summary: dict[str, Any]) -> str:
    return json.dumps(summary, indent=2, sort_keys=True)
