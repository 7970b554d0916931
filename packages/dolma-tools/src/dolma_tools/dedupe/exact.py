"""Exact dedup of ids, documents or paragraphs with a Bloom filter, writing attribute files.

How the work is shared: worker processes (or Ray tasks) read, split and hash input files (the costly
part; with the local executor and ``processes`` >= 2 they are ``processes`` NumPy-free subprocesses,
and the parent, which owns the filter, hashes nothing: ``dedupe.spool`` says why); the parent walks
the files in sorted order, marking an item a duplicate when it is in the filter or appeared earlier in
the same file, then adding the file's items. The filter is therefore touched by a single process in a
fixed order, and the attributes are byte-identical whatever the number of processes. Files travel and
are marked in chunks of whole documents (``dedupe.spool``, ``dedupe.marking``), so memory is the
filter plus a chunk per process, whatever the size of a file (n-gram mode aside, which scores a whole
file at once). A filter opened read-only (``np.memmap`` mode ``'r'``) is never written, so any number of
processes may map the same file (``dolma_tools.decont`` does exactly that)."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from dolma_tools.dedupe.bloom import BloomFilter, BloomParams, measure_false_positive_rate
from dolma_tools.dedupe.config import BloomDedupeConfig
from dolma_tools.dedupe.layout import attribute_file, input_files, write_attribute_rows
from dolma_tools.dedupe.marking import STAT_KEYS, mark_file
from dolma_tools.dedupe.spool import FileTask, file_chunk_streams
from dolma_tools.dedupe.units import spans_per_document, unit_scores

ATTRIBUTE_NAMES = {"id": "duplicate_id", "document": "duplicate_document", "paragraph": "duplicate_paragraphs"}
# Rough item sizes used only to size a filter when the caller gives no count: an overestimate
# lowers the false-positive rate, an underestimate raises it (the summary reports the real rate).
_BYTES_PER_ITEM = {"id": 4000, "document": 4000, "paragraph": 8, "ngram": 2}


def attribute_key(config: BloomDedupeConfig) -> str:
    tagger = "ngram" if config.mode == "paragraph" and config.ngram_length > 0 else "bloom"
    return f"{config.name}__{tagger}__{ATTRIBUTE_NAMES[config.mode]}"


def estimate_items(files: Sequence[Path], config: BloomDedupeConfig) -> int:
    kind = "ngram" if config.mode == "paragraph" and config.ngram_length > 0 else config.mode
    total = sum(p.stat().st_size for p in files)
    return max(10_000, total // _BYTES_PER_ITEM[kind])


def open_filter(config: BloomDedupeConfig, files: Sequence[Path]) -> BloomFilter:
    if config.filter_path and Path(config.filter_path).exists():
        return BloomFilter.load(config.filter_path, read_only=config.read_only)
    if config.read_only:
        raise FileNotFoundError(f"read-only marking needs an existing filter, {config.filter_path!r} is missing")
    n = config.expected_items or estimate_items(files, config)
    return BloomFilter.create(BloomParams.for_capacity(n, config.false_positive_rate, seed=config.seed))


def dedupe_files(inputs: str | Path | Iterable[str | Path], config: BloomDedupeConfig | None = None, *,
                 destination: str | Path | None = None, progress: bool = False,
                 bloom: BloomFilter | None = None, executor: str = "local",
                 ray_address: str | None = None) -> dict[str, Any]:
    """Mark duplicates in every input file and write one attribute file per input file.

    ``executor``: where the files are read and hashed, ``local`` (``config.processes`` hashing
    subprocesses, or this process when it is 1) or ``ray`` (one Ray task a file); the filter stays in
    this process either way and takes the files in sorted order, so the attributes are the same bytes
    on both. ``ray_address``: the cluster (default ``$RAY_ADDRESS``, else a local instance).

    Returns a summary: counts of documents, units and duplicates (also per source file), the filter
    parameters and its expected and measured false-positive rates."""
    config = config or BloomDedupeConfig()
    t0 = time.perf_counter()
    with_base = input_files(inputs)
    files = [p for p, _ in with_base]
    bloom = bloom or open_filter(config, files)
    key = attribute_key(config)
    totals = dict.fromkeys(STAT_KEYS, 0)
    per_file: dict[str, dict[str, int]] = {}
    bar = _progress(len(files), progress)
    streams = file_chunk_streams([FileTask(p, config) for p in files], config.processes, executor, ray_address)
    for (path, base), chunks in zip(with_base, streams, strict=True):
        stats: dict[str, int] = {}
        write_attribute_rows(attribute_file(path, config.name, base=base, destination=destination), key,
                             mark_file(chunks, bloom, config, stats))
        per_file[str(path)] = stats
        for k, v in stats.items():
            totals[k] += v
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    if config.save_filter and not bloom.read_only:
        bloom.save(config.save_filter)
    return {**totals, "files": len(files), "attribute": key, "mode": config.mode,
            "filter": {"num_bits": bloom.params.num_bits, "num_hashes": bloom.params.num_hashes,
                       "seed": bloom.params.seed, "items": bloom.items_added, "read_only": bloom.read_only,
                       "expected_false_positive_rate": bloom.params.expected_false_positive_rate(bloom.items_added),
                       "measured_false_positive_rate": measure_false_positive_rate(bloom),
                       "saved_to": config.save_filter},
            "per_file": per_file, "seconds": round(time.perf_counter() - t0, 3)}


def mark_paragraphs(texts: Sequence[str], bloom: BloomFilter, *, ngram_length: int = 0, threshold: float = 1.0,
                    skip_empty: bool = True) -> list[list[list[float]]]:
    """Spans ``[start, end, score]`` of the paragraphs of each text found in ``bloom`` (never changed).

    With ``ngram_length > 0`` the score is the fraction of the paragraph's word n-grams in the filter
    and a paragraph is marked when it reaches ``threshold``. This is the decontamination primitive:
    build the filter from evaluation documents, then mark training documents."""
    from dolma_tools.dedupe.units import paragraph_units

    units = paragraph_units(texts, ngram_length=ngram_length, skip_empty=skip_empty, seed=bloom.params.seed)
    scores = unit_scores(units, bloom.contains_hashes(units.hashes))
    return spans_per_document(units, scores, threshold if ngram_length > 0 else 1.0)


def build_paragraph_filter(texts: Iterable[str], *, ngram_length: int = 0, false_positive_rate: float = 1e-6,
                           expected_items: int | None = None, seed: int = 0, skip_empty: bool = True) -> BloomFilter:
    """A filter of every paragraph (or paragraph n-gram) of ``texts``, for :func:`mark_paragraphs`."""
    from dolma_tools.dedupe.units import paragraph_units

    units = paragraph_units(list(texts), ngram_length=ngram_length, skip_empty=skip_empty, seed=seed)
    bf = BloomFilter.for_capacity(expected_items or max(1, len(units.hashes)), false_positive_rate, seed=seed)
    bf.add_hashes(units.hashes)
    return bf


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="dedupe", unit="file")
