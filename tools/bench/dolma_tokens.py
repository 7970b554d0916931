"""Benchmark: ``dolma-tools tokens`` against the original Dolma toolkit's ``dolma tokens``.

Both tokenize the same files of ``../shared/data/corpus`` with the same tokenizer file
(``allenai_gpt-neox-olmo-dolma-v1_5.json``, eos 50279, pad 1) and the same number of processes.
The peer is installed from PyPI into its own venv (``uv venv`` + ``uv pip install dolma``), never
into the workspace. Each command is timed end to end (start-up included) as a subprocess; tokens/s
is each tool's own token count (from its output files) over its wall time. The two commands run
alternately ``--repeats`` times and the best time of each is kept, since other jobs may share the
machine. Dolma strips each text and skips empty documents, so its token count is a little lower.

    uv run python tools/bench/dolma_tokens.py [--quick] [--processes 2]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import zstandard
from _dolma_peer import ensure_peer, timed  # tools/bench is on sys.path

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
CORPUS = SHARED / "corpus"
TOKENIZER = SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
QUICK_FILES = ["books/books-0000.jsonl.zst", "code/code-0000.jsonl.zst", "manpages/manpages-0000.jsonl.zst",
               "python_docs/python_docs-0000.jsonl.zst"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def prepare_inputs(files: list[Path], work: Path) -> list[Path]:
    """The peer's reader (smart_open) cannot open .zst without an extra package, so both tools read
    the same documents re-compressed as .jsonl.gz."""
    out = []
    for f in files:
        dst = work / "documents" / f.parent.name / f.name.replace(".zst", ".gz")
        dst.parent.mkdir(parents=True, exist_ok=True)
        with open(f, "rb") as raw, gzip.open(dst, "wb", compresslevel=1) as gz:
            shutil.copyfileobj(zstandard.ZstdDecompressor().stream_reader(raw), gz)
        out.append(dst)
    return out


def run_peer(exe: Path, files: list[Path], dest: Path, processes: int) -> tuple[float, int, int]:
    shutil.rmtree(dest, ignore_errors=True)
    cmd = [str(exe), "tokens", "--documents", *map(str, files), "--destination", str(dest),
           "--tokenizer.name_or_path", str(TOKENIZER), "--tokenizer.eos_token_id", "50279",
           "--tokenizer.pad_token_id", "1", "--processes", str(processes), "--dtype", "uint16", "--seed", "3920"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    seconds, peak = timed(cmd, env)
    tokens = 0  # the memmaps are preallocated, so count from the per-document metadata
    for meta in dest.rglob("*.csv.gz"):
        with gzip.open(meta, "rt") as f:
            tokens += sum(int(row[1]) - int(row[0]) for row in csv.reader(f) if row)
    return seconds, tokens, peak


def run_ours(files: list[Path], dest: Path, processes: int) -> tuple[float, int, int]:
    shutil.rmtree(dest, ignore_errors=True)
    summary = dest.parent / f"{dest.name}.summary.json"
    cmd = [sys.executable, "-m", "dolma_tools.cli", "tokens", "--documents", *map(str, files),
           "--destination", str(dest), "--tokenizer", str(TOKENIZER), "--processes", str(processes),
           "--no-progress", "--summary", str(summary)]
    seconds, peak = timed(cmd)
    return seconds, int(json.loads(summary.read_text())["tokens"]), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 corpus files instead of all 16")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=None, help="alternating runs per tool (default 2, quick 1)")
    args = parser.parse_args()
    repeats = args.repeats or (1 if args.quick else 2)
    exe = ensure_peer()
    files = [CORPUS / f for f in QUICK_FILES] if args.quick else sorted(CORPUS.glob("*/*.jsonl.zst"))
    work = Path(tempfile.mkdtemp(prefix="bench-dolma-tokens-"))
    ours_runs, peer_runs = [], []
    try:
        files = prepare_inputs(files, work)
        for r in range(repeats):
            log(f"round {r + 1}/{repeats}: dolma tokens ...")
            peer_runs.append(run_peer(exe, files, work / "peer", args.processes))
            log(f"  {peer_runs[-1][0]:.1f}s, {peer_runs[-1][1]:,} tokens")
            log(f"round {r + 1}/{repeats}: dolma-tools tokens ...")
            ours_runs.append(run_ours(files, work / "ours", args.processes))
            log(f"  {ours_runs[-1][0]:.1f}s, {ours_runs[-1][1]:,} tokens")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ps, pt, pm = min(peer_runs)
    os_, ot, om = min(ours_runs)
    ours_tps, peer_tps = ot / os_, pt / ps
    ratio = ours_tps / peer_tps
    print(f"files: {len(files)}  processes: {args.processes}  tokenizer: {TOKENIZER.name}")
    print(f"dolma tokens (peer):  {ps:7.2f} s  {pt:,} tokens  {peer_tps:,.0f} tokens/s  peak RSS {pm / 2**20:,.0f} MiB")
    print(f"dolma-tools tokens:   {os_:7.2f} s  {ot:,} tokens  {ours_tps:,.0f} tokens/s  peak RSS {om / 2**20:,.0f} MiB")
    print(f"RESULT dolma_tokens ratio={ratio:.2f} ours_tokens_per_s={ours_tps:.0f} peer_tokens_per_s={peer_tps:.0f} "
          f"processes={args.processes} files={len(files)}")


if __name__ == "__main__":
    main()
