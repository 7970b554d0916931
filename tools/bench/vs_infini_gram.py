"""Benchmark: ``dolma_tools.index`` (our suffix-array index over token shards) against infini-gram
(``infini-gram==2.6.0``, its own pinned environment), on the same token ids.

Corpus: the whole shared corpus (``../shared/data/corpus``, 9,900 documents) tokenized as the demo
tokenizes (``dolma-tools tokens``, the shipped OLMo tokenizer, EOS 50279 after every document, uint16;
36.7 M tokens), cached under ``~/.cache/olmo-stack/bench-data``. ``--quick``: the Bible and the first
file of Python modules (1,640 documents, 3.4 M tokens). Both sides index the ids of those shards: ours
reads the shards; infini-gram's indexing step 1 (which tokenizes raw text) is replaced by writing the
same ids in its layout (a 0xFFFF separator before each document, every document keeping its EOS), then
its own step 2 (Rust suffix-array construction) runs.

Three comparisons, every side in its own process (``harness.Worker``), rounds alternating:

* **count** (the headline): 1,000 n-grams of lengths 1 to 20 drawn at random positions of the corpus
  (within one document) plus 100 absent ones (random ids), counted one by one; queries per second.
  Work check: every count identical (infini-gram's counts must also be exact: ``approx`` false);
* **count, peer index in RAM**: the same, infini-gram with ``load_to_ram=True`` (ours stays mapped);
* **locate**: the same queries, every occurrence of each counted at most 100 times found and mapped to
  its document, the matched tokens read back (infini-gram: ``find`` + ``get_docs_by_ranks_2``); work
  check: the same sorted document list for every query;
* **build**: indexing the shards from scratch (ours: memory budget 1024 MiB, one process; infini-gram:
  ``--cpus 2`` (the machine's cores, its default) and ``--mem 1`` GiB); tokens per second and peak
  RSS. Work check: the same number of tokens and the same counts for 50 queries.

Peak memory is the RSS of each side's process tree (the index files' mapped pages included).

    uv run --frozen python tools/bench/vs_infini_gram.py --quick     # 1.2 min measured (load 13 on 2 cores)
    uv run --frozen python tools/bench/vs_infini_gram.py             # the 36.7 M-token corpus, 11-21 min

Measured (full run, 2 cores shared, load average 8 falling to 4; median of 3 rounds, min-max): count
11.9x (9.2-17.4; 35 vs 441 us a query), count against infini-gram's index in RAM 4.4x (3.0-6.3; 45 vs
198 us), locate 8.7x (6.5-14.2), build 0.96x (0.88-1.37; 76 s vs 67 s, ours in one process, peak RSS
1,362 vs 750 MiB, mapped index files included). What limits the build: NumPy sorts in one process against
Rust in two. The count figures: each of our binary-search steps is a Python byte-slice comparison of the
mapped stream; where infini-gram's ~0.2-0.4 ms a count goes was not profiled (calling its C++ binding
directly costs the same as its Python wrapper, measured on the quick index), so that ratio is stated, not
explained.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

PEER = harness.PeerEnv(("infini-gram==2.6.0", "numpy==2.2.6", "tqdm==4.70.1"))
CORPUS = harness.SHARED / "corpus"
CACHE = harness.PEER_ROOT.parent / "bench-data"
QUICK_FILES = ["books/books-0000.jsonl.zst", "code/code-0000.jsonl.zst"]
SIDES = harness.HERE / "sides"
MAX_LOCATE = 100


def tokens_dir(quick: bool) -> Path:
    """The tokenized corpus, made once with ``dolma-tools tokens`` and cached."""
    out = CACHE / ("shared-corpus-quick-olmo-tokens" if quick else "shared-corpus-olmo-tokens")
    if not (out / "summary.json").is_file():
        docs = [str(CORPUS / f) for f in QUICK_FILES] if quick else [str(CORPUS)]
        harness.log(f"tokenizing {' '.join(docs)} into {out} (once) ...")
        subprocess.run([sys.executable, "-m", "dolma_tools.cli", "tokens", "--documents", *docs, "--destination",
                        str(out), "--processes", "2", "--no-progress"], check=True, stdout=subprocess.DEVNULL)
    return out


def read_stream(tokens: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Shard paths in stream order, the ids, and each document's global start (from the sidecars)."""
    from dolma_tools.index.corpus import TokenCorpus

    corpus = TokenCorpus.open([tokens])
    if corpus.dtype != "uint16":
        raise SystemExit("infini-gram's u16 layout needs uint16 shards")
    stream = np.concatenate([s.tokens() for s in corpus.shards]).astype(np.int64)
    starts, _docs = corpus.document_table()
    return [str(s.path) for s in corpus.shards], stream, starts[:-1]


def make_queries(stream: np.ndarray, starts: np.ndarray, seed: int = 0, present: int = 1000,
                 absent: int = 100) -> list[list[int]]:
    rng = np.random.default_rng(seed)
    ends = np.append(starts[1:], len(stream))
    out: list[list[int]] = []
    while len(out) < present:
        n = int(rng.integers(1, 21))
        p = int(rng.integers(0, len(stream) - n))
        d = int(np.searchsorted(starts, p, side="right")) - 1
        if p + n <= ends[d]:  # within one document: infini-gram separates documents
            out.append(stream[p:p + n].tolist())
    for _ in range(absent):
        out.append(rng.integers(0, 50_000, int(rng.integers(8, 21))).tolist())
    return out


def check_locate(a: Any, b: Any) -> tuple[bool, str]:
    if a != b:
        bad = sum(x != y for x, y in zip(a, b))
        return False, f"{bad} of {len(a)} queries found in different documents"
    found = [x for x in a if x is not None]
    return True, (f"documents of all {sum(map(len, found)):,} occurrences of {len(found)} queries identical "
                  f"({len(a) - len(found)} counted over {MAX_LOCATE}, not located)")


def check_build(a: Any, b: Any) -> tuple[bool, str]:
    same = a == b
    return same, f"{a['tokens']:,} tokens indexed, counts of 50 queries {'identical' if same else 'differ'}"


def main() -> list[harness.Result]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="3.4 M tokens (the Bible and one file of code)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    tokens = tokens_dir(args.quick)
    shards, stream, starts = read_stream(tokens)
    work = CACHE / f"vs_infini_gram{'_quick' if args.quick else ''}"
    work.mkdir(parents=True, exist_ok=True)
    queries = make_queries(stream, starts)
    (work / "queries.json").write_text(json.dumps(queries))
    np.save(work / "doc_starts.npy", starts)
    harness.log(f"corpus: {len(stream):,} tokens, {len(starts):,} documents; {len(queries):,} queries")
    common = {"queries": str(work / "queries.json"), "max_locate": MAX_LOCATE, "eos_id": 50279}
    ours_cfg = {**common, "work": str(work / "ours"), "tokens": [str(tokens)], "memory_mb": 1024}
    peer_cfg = {**common, "work": str(work / "peer"), "shards": shards, "doc_starts": str(work / "doc_starts.npy"),
                "cpus": 2, "mem_gib": 1}
    python = PEER.python

    def sides(mode: str, **peer_extra: Any) -> tuple[harness.Worker, harness.Worker]:
        return (harness.Worker("dolma_tools.index", SIDES / "vs_infini_gram_ours.py", {**ours_cfg, "mode": mode}),
                harness.Worker("infini-gram", SIDES / "vs_infini_gram_peer.py",
                               {**peer_cfg, "mode": mode, **peer_extra}, python=python))

    size = f"{len(stream) / 1e6:.1f} M tokens"
    build = harness.compare(
        "vs_infini_gram", *sides("build"), peer=PEER.label, unit="tokens/s", variant="build", primary=False,
        rounds=args.rounds, check=check_build, peer_setting="build_sa, --cpus 2 --mem 1",
        work=f"suffix-array index of {size} from the token shards (ours: 1024 MiB budget, 1 process)",
        limits="ours sorts in NumPy in one process; infini-gram's Rust builder runs 2 processes (its CPU time, "
               "in child processes, is not in the CPU-time ratio)")
    count = harness.compare(
        "vs_infini_gram", *sides("count"), peer=PEER.label, unit="queries/s", rounds=args.rounds,
        check=harness.check_equal("counts of 1,100 n-grams"), peer_setting="InfiniGramEngine.count, u16, version 4",
        work=f"count 1,000 n-grams (1-20 tokens) sampled from {size} + 100 absent",
        limits="each of our binary-search steps is a Python-level byte comparison; infini-gram's are C++",
        extra={"corpus_tokens": len(stream), "documents": len(starts)})
    in_ram = harness.compare(
        "vs_infini_gram", *sides("count", load_to_ram=True), peer=PEER.label, unit="queries/s",
        variant="count, peer index in RAM", primary=False, rounds=args.rounds,
        check=harness.check_equal("counts of 1,100 n-grams"), peer_setting="InfiniGramEngine(load_to_ram=True).count",
        work="the same counts, infini-gram's index read into memory first (ours stays memory-mapped)")
    locate = harness.compare(
        "vs_infini_gram", *sides("locate"), peer=PEER.label, unit="queries/s", variant="locate", primary=False,
        rounds=args.rounds, check=check_locate, peer_setting="find + get_docs_by_ranks_2",
        work=f"locate every occurrence (<= {MAX_LOCATE}) of the same queries in {size}: documents and tokens")
    for r in (build, count, in_ram, locate):
        harness.log(f"{r.variant or 'count'}: ours {r.ours['median']:,.4g} theirs {r.theirs['median']:,.4g} "
                    f"{r.unit} ({1e6 / r.ours['median']:,.1f} vs {1e6 / r.theirs['median']:,.1f} us per unit), "
                    f"peak {r.ours_peak_mib:,.0f} vs {r.theirs_peak_mib:,.0f} MiB")
    return [build, count, in_ram, locate]


if __name__ == "__main__":
    harness.run(main)
