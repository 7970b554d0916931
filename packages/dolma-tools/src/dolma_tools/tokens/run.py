"""``tokenize_files``: documents to a tokenized dataset, in two stages.

1. Tokenize (parallel, resumable): every input file becomes a unit in ``<destination>/.work`` (see
   ``units``), written by whichever worker process takes it. A killed run keeps its finished units.
2. Pack (one process, cheap): the units are read in input order (or a seeded permutation of all
   documents) and cut into ``part-NNNNN`` shards of at most ``max_tokens_per_file`` tokens (a document
   longer than that gets a shard of its own), each a headerless memmap with Dolma's ``.csv.gz``
   metadata and our sidecar (``array_format="memmap"``, what Dolma and OLMo-core read) or a ``.npy``
   file with the sidecar (``"npy"``).

Since the units hold the same tokens whoever made them and packing depends only on the document
order, the dataset is byte-identical for any number of processes. The work folder is removed at the
end and ``summary.json`` records the run, so running a finished job again only re-reads the summary."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from dolma_tools.atomic import sweep_temporaries, write_json_atomic
from dolma_tools.docio import expand_inputs
from dolma_tools.executor.ordered import ordered_map
from dolma_tools.hashing import json_key
from dolma_tools.interfaces import read_tokens_sidecar, sidecar_path, token_dtype_for
from dolma_tools.tokens.arrays import DEFAULT_ARRAY_FORMAT, METADATA_SUFFIX, check_array_format
from dolma_tools.tokens.tokenizer import (
    DEFAULT_TOKENIZER,
    OLMO_EOS_ID,
    OLMO_PAD_ID,
    TokenizerSpec,
    load_tokenizer,
)
from dolma_tools.tokens.units import Unit, UnitTask, load_unit, read_tokens, tokenize_unit, unit_for
from dolma_tools.tokens.writer import shard_files, write_shard

WORK_DIR = ".work"
SUMMARY = "summary.json"


def _init_worker() -> None:
    # each process is one worker: the tokenizer's own thread pool would only oversubscribe the cores
    os.environ["TOKENIZERS_PARALLELISM"] = "false"


def _tokenize_in_worker(task: UnitTask) -> dict[str, Any]:
    _init_worker()
    return tokenize_unit(task)


def _run_units(tasks: list[UnitTask], processes: int, progress: bool, executor: str = "local",
               ray_address: str | None = None) -> list[dict[str, Any]]:
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=sum(t.unit.path.stat().st_size for t in tasks), unit="B", unit_scale=True,
                   desc="tokenize", smoothing=0.1)
    results: list[dict[str, Any]] = []
    tokens = 0
    t0 = time.perf_counter()
    # biggest files first, so the last unit to finish is a small one
    order = sorted(tasks, key=lambda t: -t.unit.path.stat().st_size)

    def done(task: UnitTask, res: dict[str, Any]) -> None:
        nonlocal tokens
        results.append(res)
        tokens += res["tokens"]
        if bar is not None:
            bar.update(task.unit.path.stat().st_size)
            bar.set_postfix(tokens=f"{tokens:,}", tok_s=f"{tokens / max(time.perf_counter() - t0, 1e-9):,.0f}")

    if executor != "local":  # one Ray task a unit; the units are the same files whoever writes them
        for task, res in zip(order, ordered_map(_tokenize_in_worker, order, processes, executor=executor,
                                                             ray_address=ray_address),
                             strict=True):
            done(task, res)
    elif processes <= 1 or len(order) <= 1:
        for task in order:
            done(task, tokenize_unit(task))
    else:
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
        with ctx.Pool(min(processes, len(order)), initializer=_init_worker) as pool:
            by_key = {t.unit.key: t for t in order}
            for res in pool.imap_unordered(tokenize_unit, order, chunksize=1):
                done(by_key[res["key"]], res)
    if bar is not None:
        bar.close()
    return results


def _plan_shards(lengths: np.ndarray, order: np.ndarray, max_tokens: int) -> list[np.ndarray]:
    """Cut ``order`` into runs whose token totals stay within ``max_tokens`` (a longer document alone)."""
    shards: list[np.ndarray] = []
    start, total = 0, 0
    lens = lengths[order]
    for i, n in enumerate(lens.tolist()):
        if total and total + n > max_tokens:
            shards.append(order[start:i])
            start, total = i, 0
        total += n
    if len(order) > start:
        shards.append(order[start:])
    return shards


def _index_units(units: list[Unit], dtype: np.dtype, meta_path: Path) -> tuple[np.ndarray, ...]:
    """Per document, in unit order: its unit, its first token in the unit, its length, and the byte
    offset of its ``[id, source, line]`` in ``meta_path``. Only these arrays stay in memory (28 bytes a
    document); ids and sources are read back shard by shard, so packing does not grow with the corpus
    by their strings (it did: 245 MiB at 16x the synth corpus against 157 MiB at 1x)."""
    unit_of, starts, lengths, offsets = [], [], [], []
    pos = 0
    with open(meta_path, "wb") as f:
        for k, unit in enumerate(units):
            rows = load_unit(unit, dtype)
            n = np.array([r[2] for r in rows], dtype=np.int64)
            unit_of.append(np.full(len(rows), k, dtype=np.int32))
            starts.append(np.cumsum(n) - n)
            lengths.append(n)
            lines = [(json.dumps([r[0], r[1], r[3]], ensure_ascii=False) + "\n").encode("utf-8") for r in rows]
            sizes = np.array([len(x) for x in lines], dtype=np.int64)
            offsets.append(pos + np.cumsum(sizes) - sizes)
            pos += int(sizes.sum())
            f.write(b"".join(lines))
    empty = [np.zeros(0, dtype=np.int64)]
    return (np.concatenate([*unit_of, np.zeros(0, dtype=np.int32)]), np.concatenate(starts + empty),
            np.concatenate(lengths + empty), np.concatenate(offsets + empty))


def pack_units(units: list[Unit], destination: Path, spec: TokenizerSpec, *, max_tokens_per_file: int,
               shuffle_seed: int | None = None, limit: int | None = None,
               array_format: str = DEFAULT_ARRAY_FORMAT) -> list[Path]:
    """Write the shards from finished units and delete shards left over from an earlier, longer run."""
    dtype = np.dtype(token_dtype_for(spec.vocab_size))
    meta_path = destination / WORK_DIR / "pack-meta.jsonl"  # scratch: rewritten by every pack
    meta_path.parent.mkdir(parents=True, exist_ok=True)
    unit_of, local_start, lengths, meta_offset = _index_units(units, dtype, meta_path)
    order = np.arange(len(lengths) if limit is None else min(limit, len(lengths)))
    if shuffle_seed is not None:
        order = np.random.default_rng(shuffle_seed).permutation(order)
    written: list[Path] = []
    with open(meta_path, "rb") as meta:
        for index, docs in enumerate(_plan_shards(lengths, order, max_tokens_per_file)):
            pieces, rows, locs, pos = [], [], [], 0
            run_unit, run_start, run_end = -1, 0, 0
            for d in docs.tolist():
                u, s, n = int(unit_of[d]), int(local_start[d]), int(lengths[d])
                if u == run_unit and s == run_end:
                    run_end += n  # contiguous documents are copied as one slice
                else:
                    if run_unit >= 0:
                        pieces.append(read_tokens(units[run_unit], dtype, run_start, run_end))
                    run_unit, run_start, run_end = u, s, s + n
                meta.seek(int(meta_offset[d]))
                doc_id, source, loc = json.loads(meta.readline())
                rows.append([pos, pos + n, doc_id, source, str(units[u].path)])
                locs.append(loc)
                pos += n
            if run_unit >= 0:
                pieces.append(read_tokens(units[run_unit], dtype, run_start, run_end))
            array = np.concatenate(pieces or [np.zeros(0, dtype=dtype)]).astype(dtype, copy=False)
            del pieces
            written.append(write_shard(destination, f"part-{index:05d}", array, rows, spec, locs=locs,
                                       array_format=array_format))
            del array  # before the next shard's pieces: two shards' ids would be resident at once
    meta_path.unlink(missing_ok=True)
    keep = {f.name for p in written for f in shard_files(p, array_format)}
    for pattern in ("part-*.npy", "part-*.docs.jsonl", f"part-*{METADATA_SUFFIX}"):
        for stale in destination.glob(pattern):
            if stale.name not in keep:
                stale.unlink()
    return written


def tokenize_files(inputs: str | Path | Iterable[str | Path], destination: str | Path, *,
                   tokenizer: str | Path | None = None, max_tokens_per_file: int = 2**28,
                   batch_size: int = 256, limit: int | None = None, processes: int = 1,
                   shuffle_seed: int | None = None, progress: bool = False, eos_id: int = OLMO_EOS_ID,
                   pad_id: int = OLMO_PAD_ID, keep_work: bool = False, batch_chars: int = 4_000_000,
                   array_format: str = DEFAULT_ARRAY_FORMAT, executor: str = "local",
                   ray_address: str | None = None) -> dict[str, Any]:
    """Tokenize document files into ``destination`` and return a summary (documents, tokens, shards,
    per_source counts, speed). Resumes from the finished units of a killed run; byte-identical output
    for any ``processes``. ``shuffle_seed`` shuffles documents (seeded); ``limit`` keeps the first
    ``limit`` documents in input order. ``array_format``: ``memmap`` (headerless + Dolma's ``.csv.gz``,
    the default) or ``npy``. ``executor``: the tokenize stage on ``local`` forked processes or as
    ``ray`` tasks (one a unit, ``processes`` CPUs for a local instance); packing runs here either way."""
    t0 = time.perf_counter()
    check_array_format(array_format)
    destination = Path(destination)
    destination.mkdir(parents=True, exist_ok=True)
    tokenizer_path = str(tokenizer or DEFAULT_TOKENIZER)
    spec = load_tokenizer(tokenizer_path, eos_id=eos_id, pad_id=pad_id)
    files = expand_inputs(inputs)
    work = destination / WORK_DIR
    units = [unit_for(p, spec, work) for p in files]
    run_key = json_key([[u.key for u in units], max_tokens_per_file, shuffle_seed, limit, array_format], length=64)
    previous = _finished_summary(destination, run_key, array_format)
    if previous is not None:
        return previous
    work.mkdir(exist_ok=True)
    for folder in (destination, work):  # shards, units and the summary a killed run was writing
        sweep_temporaries(folder)
    # the summary is written last: it exists only while the shards are those of one finished run, never
    # during a repack that may leave old and new shards side by side
    (destination / SUMMARY).unlink(missing_ok=True)
    tasks = [UnitTask(u, tokenizer_path, eos_id, pad_id, batch_size, batch_chars) for u in units]
    try:
        results = _run_units(tasks, processes, progress, executor, ray_address)
        sweep_temporaries(work)  # a Ray worker killed inside a write leaves its temporary beside the retry's unit
    except BaseException:
        sweep_temporaries(work)  # an error stops the pool's workers mid-write (SIGTERM): clear what they left
        raise
    t_tok = time.perf_counter() - t0
    shards = pack_units(units, destination, spec, max_tokens_per_file=max_tokens_per_file,
                        shuffle_seed=shuffle_seed, limit=limit, array_format=array_format)
    per_source: dict[str, dict[str, int]] = {}
    for res in sorted(results, key=lambda r: r["key"]):
        for source, s in res["per_source"].items():
            agg = per_source.setdefault(source, {"documents": 0, "tokens": 0})
            agg["documents"] += s["documents"]
            agg["tokens"] += s["tokens"]
    if limit is not None:
        per_source = _per_source_from_shards(shards)
    docs = sum(s["documents"] for s in per_source.values())
    tokens = sum(s["tokens"] for s in per_source.values())
    elapsed = time.perf_counter() - t0
    summary = {"documents": docs, "tokens": tokens, "shards": [str(p) for p in shards],
               "per_source": dict(sorted(per_source.items())), "processes": processes,
               "shuffle_seed": shuffle_seed, "max_tokens_per_file": max_tokens_per_file,
               "array_format": array_format,
               "tokenizer": spec.name, "units": len(units),
               "units_reused": sum(1 for r in results if r["reused"]),
               "seconds": round(elapsed, 3), "tokenize_seconds": round(t_tok, 3),
               "tokens_per_second": round(tokens / max(elapsed, 1e-9)), "run_key": run_key}
    write_json_atomic(destination / SUMMARY, summary, indent=2)
    if not keep_work:
        shutil.rmtree(work, ignore_errors=True)
    return summary


def _rows(array_path: Path) -> list[list[Any]]:
    return read_tokens_sidecar(sidecar_path(array_path))[1]


def _per_source_from_shards(shards: list[Path]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for shard in shards:
        for start, end, _, source, _ in _rows(shard):
            s = out.setdefault(source, {"documents": 0, "tokens": 0})
            s["documents"] += 1
            s["tokens"] += end - start
    return dict(sorted(out.items()))


def _finished_summary(destination: Path, run_key: str, array_format: str) -> dict[str, Any] | None:
    path = destination / SUMMARY
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text())
    except json.JSONDecodeError:
        return None
    if summary.get("run_key") != run_key:
        return None
    shards = [Path(p) for p in summary.get("shards", [])]
    if not all(f.is_file() for p in shards for f in shard_files(p, array_format)):
        return None
    return {**summary, "reused": True}
