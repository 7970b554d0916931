"""Benchmark: ``dolma-tools tokens`` against the original Dolma toolkit's ``dolma tokens`` (dolma==1.2.1).

What is compared: tokenizing the same document files into token-id arrays with the same tokenizer file
(``allenai_gpt-neox-olmo-dolma-v1_5.json``, EOS 50279 appended to every document, pad 1, uint16 ids) and
the same number of worker processes. Both sides are :class:`harness.Command` sides: each round is one
run of the command line as a user would run it, start-up (interpreter, imports, tokenizer load) and
writing the outputs included, timed end to end; the previous round's outputs are removed before each
round (ours would otherwise resume from its work folder, which is checked: a round that reused a unit
fails). tokens/s is the number of tokens written (EOS included) over the wall time; peak memory is the
summed RSS of each command's process tree.

Inputs: the corpus files of ``../shared/data/corpus`` re-written as ``.jsonl.gz`` under one
``documents/<source>/`` folder (the peer's reader opens gzip; both read the same files). Dolma strips
every text and skips empty documents, ours tokenizes the text as given, so the inputs are written with
each text already stripped and empty documents left out: both then tokenize exactly the same documents
(the number stripped and dropped is printed).
  * primary (full run): the first file of each of the 6 sources, uncut (4,194 documents, 40.9 M characters);
  * ``--quick``: the first file of 4 sources, each cut to its first ~2.5 M characters (1,230 documents,
    2.9 M tokens).

Peer setting: ``--processes 2`` (one per core; the default is 1, which would leave a core idle), the
fast (Rust) tokenizer (its default, the fastest), no paragraph segmentation (the default; segmenting
only helps tokenizers slow on long inputs, not this BPE), the default ``batch_size`` (10,000) and
``ring_size`` (8 files open at once, more than there are files here), ``--dtype uint16`` (the vocab
fits). It runs with ``tokenizers`` 0.19.1, the newest its ``tokenizers<=0.19.1`` pin allows. Ours runs
with its defaults and the same process count. Dolma's tokenizer is reached only through its Python
package (no Rust entry point to call instead), so its ~2.5 CPU-seconds of package imports are part of
its cost; the start-up CPU of one ``tokens --help`` of each side is recorded beside the figures, and the
CPU seconds of each command's process tree per round (``getrusage(RUSAGE_CHILDREN)``) too, a figure a
busy shared machine barely moves.

Work check: both outputs are read back (Dolma: headerless memmaps + ``.csv.gz`` rows ``start,end,id,
src,loc``, documents shuffled across memmaps with ``--seed``; ours: ``part-*.npy`` memmaps + ``.docs.jsonl``
sidecars), documents are matched by (input file name, id), and the token-id sequence of every document
must be identical (tolerance: none; 0 documents only on one side) or no ratio is printed.

    uv run --frozen python tools/bench/dolma_tokens.py --quick      # ~1-2 minutes
    uv run --frozen python tools/bench/dolma_tokens.py              # primary figure, a few minutes
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
import numpy as np  # noqa: E402

CORPUS = harness.SHARED / "corpus"
TOKENIZER = harness.SHARED / "tokenizers" / "allenai_gpt-neox-olmo-dolma-v1_5.json"
EOS, PAD = 50279, 1
PEER = harness.PeerEnv(("dolma==1.2.1",))
QUICK_SOURCES = ["books", "code", "manpages", "python_docs"]
QUICK_CHARS = 2_500_000  # per file, quick run


def prepare_inputs(work: Path, quick: bool) -> tuple[list[Path], dict[str, int]]:
    """The first file of each source (quick: of 4 sources, cut), texts stripped, empty documents left
    out, written as ``work/documents/<source>/<name>.jsonl.gz``."""
    from dolma_tools.docio import iter_json_lines

    sources = QUICK_SOURCES if quick else sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    out, stats = [], {"documents": 0, "stripped": 0, "dropped_empty": 0, "chars": 0}
    for source in sources:
        src = sorted((CORPUS / source).glob("*.jsonl.zst"))[0]
        dst = work / "documents" / source / src.name.replace(".zst", ".gz")
        dst.parent.mkdir(parents=True, exist_ok=True)
        chars = 0
        with gzip.open(dst, "wt", encoding="utf-8", compresslevel=1) as f:
            for _, row in iter_json_lines(src):
                text = row["text"].strip()
                stats["stripped"] += text != row["text"]
                if not text:
                    stats["dropped_empty"] += 1
                    continue
                row["text"] = text
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                stats["documents"] += 1
                chars += len(text)
                if quick and chars >= QUICK_CHARS:
                    break
        stats["chars"] += chars
        out.append(dst)
    return out, stats


def _digest(tokens: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(tokens, dtype="<u2").tobytes(), digest_size=10).hexdigest()


def read_peer(dest: Path) -> dict[str, Any]:
    """Per document ``file/id -> [n_tokens, digest]`` from Dolma's memmaps + csv.gz metadata."""
    docs: dict[str, list[Any]] = {}
    for meta in sorted(dest.rglob("*.csv.gz")):
        tokens = np.memmap(meta.with_name(meta.name[:-len(".csv.gz")] + ".npy"), dtype=np.uint16, mode="r")
        with gzip.open(meta, "rt", newline="") as f:
            for row in csv.reader(f):
                if row:
                    start, end, doc_id, src = int(row[0]), int(row[1]), row[2], row[3]
                    docs[f"{Path(src).name}/{doc_id}"] = [end - start, _digest(tokens[start:end])]
    return docs


def read_ours(dest: Path) -> dict[str, Any]:
    """Per document ``file/id -> [n_tokens, digest]`` from our ``part-*.npy`` + sidecars."""
    summary = json.loads((dest / "summary.json").read_text())
    if summary.get("units_reused"):
        raise RuntimeError(f"ours reused {summary['units_reused']} units: the round did not tokenize everything")
    docs: dict[str, list[Any]] = {}
    for sidecar in sorted(dest.glob("*.docs.jsonl")):
        with open(sidecar, encoding="utf-8") as f:
            header = json.loads(f.readline())
            tokens = (np.memmap(dest / header["array"], dtype="<u2", mode="r")  # headerless, as Dolma's
                      if header.get("array_format") == "memmap" else np.load(dest / header["array"], mmap_mode="r"))
            for line in f:
                start, end, doc_id, _, source_file = json.loads(line)
                docs[f"{Path(source_file).name}/{doc_id}"] = [end - start, _digest(tokens[start:end])]
    return docs


class CpuMeter:
    """CPU seconds (user + system) of one command's whole process tree per round, from
    ``getrusage(RUSAGE_CHILDREN)`` read just before the command starts and just after it was reaped:
    a figure that, unlike wall time, other jobs on a shared machine barely move."""

    def __init__(self) -> None:
        self.rounds: list[float] = []  # CPU seconds per token, warm-up first
        self._t0 = 0.0

    @staticmethod
    def _now() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    def before(self, dest: Path) -> Any:
        def before() -> None:
            shutil.rmtree(dest, ignore_errors=True)
            self._t0 = self._now()
        return before

    def collect(self, dest: Path, reader: Any) -> Any:
        def collect() -> tuple[float, Any]:
            cpu = self._now() - self._t0
            docs = reader(dest)
            tokens = float(sum(n for n, _ in docs.values()))
            self.rounds.append(cpu / tokens)
            return tokens, docs
        return collect


def cpu_ratio(ours: CpuMeter, theirs: CpuMeter) -> float:
    """Median over the timed rounds of (peer CPU s/token) / (our CPU s/token): above 1, we use less CPU."""
    return statistics.median(b / a for a, b in zip(ours.rounds[1:], theirs.rounds[1:], strict=True))


def check_tokens(ours: dict[str, list[Any]], theirs: dict[str, list[Any]]) -> tuple[bool, str]:
    only_ours, only_theirs = ours.keys() - theirs.keys(), theirs.keys() - ours.keys()
    differ = [k for k in ours.keys() & theirs.keys() if ours[k] != theirs[k]]
    tokens = sum(n for n, _ in theirs.values())
    if only_ours or only_theirs or differ:
        return False, (f"{len(differ)} of {len(ours.keys() & theirs.keys())} documents have different token ids "
                       f"(e.g. {sorted(differ)[:3]}), {len(only_ours)} only in ours, {len(only_theirs)} only in "
                       f"the peer's output")
    return True, (f"token ids identical for all {len(ours):,} documents ({tokens:,} tokens, matched by file + id; "
                  f"0 only on one side)")


def startup_cpu(argv: list[Any]) -> float:
    """CPU seconds of one ``--help`` run of a command: its start-up cost, which every round includes."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([str(a) for a in argv], capture_output=True, check=True, env={**os.environ, **harness.OFFLINE_ENV})
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 2)


def main() -> list[harness.Result]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="4 files cut to ~2.5 M characters each")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    exe = PEER.exe("dolma")
    peer_tokenizers = subprocess.run(
        [str(PEER.python), "-c", "import importlib.metadata as m; print(m.version('tokenizers'))"],
        capture_output=True, text=True, check=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="bench-dolma-tokens-"))
    try:
        files, stats = prepare_inputs(work, args.quick)
        harness.log(f"inputs: {len(files)} files, {stats['documents']:,} documents, {stats['chars']:,} characters "
                    f"({stats['stripped']:,} texts stripped, {stats['dropped_empty']} empty documents left out, "
                    f"as Dolma would)")
        peer_dest, ours_dest = work / "peer", work / "ours"
        cpu_ours, cpu_theirs = CpuMeter(), CpuMeter()
        startup = {"ours": startup_cpu([sys.executable, "-m", "dolma_tools.cli", "tokens", "--help"]),
                   "theirs": startup_cpu([exe, "tokens", "--help"])}
        harness.log(f"start-up (one `tokens --help`, CPU seconds): ours {startup['ours']}, peer {startup['theirs']}")
        extra: dict[str, Any] = {"files": len(files), "processes": args.processes, **stats,
                                 "startup_cpu_s_ours": startup["ours"], "startup_cpu_s_theirs": startup["theirs"],
                                 "peer_tokenizers": peer_tokenizers, "cpu_s_per_token_ours": cpu_ours.rounds,
                                 "cpu_s_per_token_theirs": cpu_theirs.rounds}
        theirs = harness.Command(
            "dolma tokens",
            [exe, "tokens", "--documents", *files, "--destination", peer_dest, "--tokenizer.name_or_path", TOKENIZER,
             "--tokenizer.eos_token_id", EOS, "--tokenizer.pad_token_id", PAD, "--processes", args.processes,
             "--dtype", "uint16", "--seed", "3920"],
            collect=cpu_theirs.collect(peer_dest, read_peer), before=cpu_theirs.before(peer_dest), cwd=work)
        ours = harness.Command(
            "dolma-tools tokens",
            [sys.executable, "-m", "dolma_tools.cli", "tokens", "--documents", work / "documents", "--destination",
             ours_dest, "--tokenizer", TOKENIZER, "--eos-id", EOS, "--pad-id", PAD, "--processes", args.processes,
             "--no-progress"],
            collect=cpu_ours.collect(ours_dest, read_ours), before=cpu_ours.before(ours_dest), cwd=work)

        def check_and_cpu(a: Any, b: Any) -> tuple[bool, str]:
            # the check runs after every round, before the record is written: the CPU figure goes with it
            if len(cpu_ours.rounds) == len(cpu_theirs.rounds) == args.rounds + 1:
                extra["cpu_time_ratio"] = cpu_ratio(cpu_ours, cpu_theirs)
            return check_tokens(a, b)

        size = (f"{len(files)} files, {stats['documents']:,} documents, {stats['chars'] / 1e6:.1f} M characters"
                f"{', quick' if args.quick else ''}")
        result = harness.compare(
            "dolma_tokens", ours, theirs, peer=PEER.label, unit="tokens/s", rounds=args.rounds,
            variant="quick" if args.quick else "",
            work=f"tokenize {size} (GPT-NeoX/OLMo BPE, EOS per document, uint16) with {args.processes} processes, "
                 "one CLI run per round, start-up and output writing included",
            check=check_and_cpu, goal=1.2,
            peer_setting=f"--processes {args.processes}, fast tokenizer, no paragraph segmentation, default "
                         f"batch/ring size, uint16, tokenizers=={peer_tokenizers}",
            limits="both sides spend most of their time in the same Rust BPE (HF tokenizers) on the same 2 "
                   "cores; the rest is start-up, JSON decoding and writing",
            extra=extra)
        result.cpu_ratio = cpu_ratio(cpu_ours, cpu_theirs)
        harness.log(f"   CPU time per token (whole process trees, timed rounds): ratio {result.cpu_ratio:.3f} "
                    "(peer / ours; above 1: we use less CPU)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [result]


if __name__ == "__main__":
    harness.run(main)
