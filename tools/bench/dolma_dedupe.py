"""Benchmark: paragraph dedup, ``dolma-tools dedupe --mode paragraph`` against the original Dolma
toolkit's ``dolma dedupe`` (Rust, ``dedupe.paragraphs``).

Both read the same files of ``../shared/data/corpus`` (linked under a ``documents/`` folder, the
layout Dolma needs) with the same number of processes, blank paragraphs skipped, and a Bloom filter
sized for the same expected item count and false-positive rate. The peer is installed from PyPI
into its own venv (``uv venv`` + ``uv pip install dolma``), never into the workspace. Each command is
timed end to end as a subprocess, with the peak of the summed resident memory of its process tree.
Then the duplicate paragraphs each found are compared as multisets of paragraph texts (which copy of
a paragraph is "first" depends on Dolma's thread scheduling, the text and the count do not).

    uv run python tools/bench/dolma_dedupe.py [--quick] [--processes 2]
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from _dolma_peer import ensure_peer, timed  # tools/bench is on sys.path

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO.parent / "shared" / "data" / "corpus"
QUICK_SOURCES = ["manpages", "kernel_docs"]


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_peer(exe: Path, work: Path, processes: int, expected: int, fp: float) -> tuple[float, int, Path]:
    out = work / "attributes" / "peer"
    shutil.rmtree(out, ignore_errors=True)
    (work / "peer.bloom").unlink(missing_ok=True)
    config = work / "peer.yaml"
    config.write_text(json.dumps({
        "documents": [str(work / "documents" / "*" / "*.jsonl.zst")],
        "dedupe": {"name": "peer", "paragraphs": {"attribute_name": "dup_paragraphs"}, "skip_empty": True},
        "bloom_filter": {"file": str(work / "peer.bloom"), "read_only": False, "estimated_doc_count": expected,
                         "desired_false_positive_rate": fp},
        "processes": processes}))  # JSON is YAML
    seconds, peak = timed([str(exe), "-c", str(config), "dedupe"], {**os.environ, "HF_HUB_OFFLINE": "1"})
    return seconds, peak, out


def run_ours(work: Path, processes: int, expected: int, fp: float) -> tuple[float, int, Path]:
    out = work / "attributes" / "ours"
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "dolma_tools.cli", "dedupe", "--documents", str(work / "documents" / "*" / "*.jsonl.zst"),
           "--destination", str(out), "--mode", "paragraph", "--processes", str(processes),
           "--expected-items", str(expected), "--false-positive-rate", str(fp), "--no-progress"]
    seconds, peak = timed(cmd)
    return seconds, peak, out


def duplicate_texts(attr_root: Path, texts: dict[str, str]) -> collections.Counter[str]:
    from dolma_tools.docio import iter_json_lines

    found: collections.Counter[str] = collections.Counter()
    for path in sorted(attr_root.rglob("*.jsonl*")):
        for _, row in iter_json_lines(path):
            text = texts[row["id"]]
            for spans in row["attributes"].values():
                for start, end, _ in spans:
                    piece = text[int(start):int(end)]
                    found[piece[:-1] if piece.endswith("\n") else piece] += 1
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two sources instead of the whole corpus")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--expected-items", type=int, default=3_000_000)
    parser.add_argument("--false-positive-rate", type=float, default=1e-6)
    parser.add_argument("--repeats", type=int, default=None, help="alternating runs per tool (default 3, quick 2)")
    args = parser.parse_args()
    repeats = args.repeats or (2 if args.quick else 3)
    exe = ensure_peer()
    sources = QUICK_SOURCES if args.quick else sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    work = Path(tempfile.mkdtemp(prefix="bench-dolma-dedupe-"))
    try:
        for s in sources:
            (work / "documents").mkdir(exist_ok=True)
            (work / "documents" / s).symlink_to(CORPUS / s)
        peer_runs, ours_runs = [], []
        for r in range(repeats):
            log(f"round {r + 1}/{repeats}: dolma dedupe ...")
            peer_runs.append(run_peer(exe, work, args.processes, args.expected_items, args.false_positive_rate))
            log(f"  {peer_runs[-1][0]:.2f}s")
            log(f"round {r + 1}/{repeats}: dolma-tools dedupe ...")
            ours_runs.append(run_ours(work, args.processes, args.expected_items, args.false_positive_rate))
            log(f"  {ours_runs[-1][0]:.2f}s")
        from dolma_tools.docio import expand_inputs, iter_documents

        texts = {d.id: d.text for f in expand_inputs(str(work / "documents" / "*" / "*.jsonl.zst")) for _, d in iter_documents(f)}
        theirs = duplicate_texts(peer_runs[-1][2], texts)
        ours = duplicate_texts(ours_runs[-1][2], texts)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ps, pm = min(r[0] for r in peer_runs), max(r[1] for r in peer_runs)
    os_, om = min(r[0] for r in ours_runs), max(r[1] for r in ours_runs)
    only_theirs, only_ours = sum((theirs - ours).values()), sum((ours - theirs).values())
    ratio = ps / os_
    print(f"sources: {', '.join(sources)}  documents: {len(texts):,}  processes: {args.processes}  "
          f"filter: {args.expected_items:,} items at p={args.false_positive_rate}")
    print(f"dolma dedupe (peer):  {ps:6.2f} s  peak RSS {pm / 2**20:,.0f} MiB  duplicate paragraphs "
          f"{sum(theirs.values()):,}")
    print(f"dolma-tools dedupe:   {os_:6.2f} s  peak RSS {om / 2**20:,.0f} MiB  duplicate paragraphs "
          f"{sum(ours.values()):,}")
    print(f"same duplicates: {only_theirs} found only by the peer, {only_ours} only by us")
    print(f"RESULT dolma_dedupe ratio={ratio:.2f} ours_s={os_:.2f} peer_s={ps:.2f} ours_peak_mib={om / 2**20:.0f} "
          f"peer_peak_mib={pm / 2**20:.0f} only_peer={only_theirs} only_ours={only_ours}")


if __name__ == "__main__":
    main()
