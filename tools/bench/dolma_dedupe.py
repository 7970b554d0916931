"""Benchmark: paragraph dedup, ``dolma-tools dedupe --mode paragraph`` against the original Dolma
toolkit's ``dolma dedupe`` (dolma==1.2.1; the dedup itself is its Rust extension, ``dedupe.paragraphs``).

What is compared: marking every paragraph (a line; blank ones skipped) that was already seen in the same
files of ``../shared/data/corpus`` (linked under one ``documents/<source>/`` folder, the layout Dolma
needs; read as ``.jsonl.zst`` by both), with a Bloom filter sized for the same expected item count
(3,000,000) and false-positive rate (1e-6), the same number of processes, and the filter saved to a file
at the end (Dolma always writes its filter when not read-only, so ours is given ``--save-filter`` too).
Both sides are :class:`harness.Command` sides: each round is one run of the command line, start-up
included, timed end to end; the attribute files and the filter file of the previous round are removed
before each round, so each round starts from an empty filter. documents/s is the number of input
documents over the wall time; peak memory is the summed RSS of each command's process tree. The CPU
seconds of each command's process tree (``getrusage(RUSAGE_CHILDREN)``) are recorded beside it, a
figure a busy shared machine barely moves.
  * primary (full run): the whole corpus (6 sources, 16 files, ~9,900 documents);
  * ``--quick``: the ``manpages`` and ``kernel_docs`` sources (5 files, 4,768 documents).

Peer setting, two figures:
  * primary: its Rust deduper called directly, ``dolma.dolma.deduper_entrypoint`` with exactly the
    config its CLI builds (``dolma -c ... dedupe --dryrun`` prints it), the extension loaded on its own so
    none of the Python package's imports run (its CLI spends ~3 CPU-seconds importing taggers, nltk,
    boto3, omegaconf before any work, which would dominate these few-second runs): the peer at its
    fastest;
  * ``peer CLI``: ``dolma -c config.yaml dedupe`` as its documentation has users run it.
  * ``<N>M-item filter``: the Rust core again, both filters sized for ``--large-filter-items`` (default
    40,000,000: the filter of data_scaling.py's 16x corpus) at the same rate; same documents. Memory is
    a fixed part (ours: the filter's owner, an interpreter with NumPy, and one hashing worker without
    it; the peer: one process, its Rust extension loaded by a bare interpreter) plus the filter plus a
    working set (ours: a 16,384-item chunk per process, whatever the file size). The first variants'
    3M-item filter (10.3 MiB ours, 16 MiB the peer's) leaves the fixed part to decide; this one (137
    MiB ours against the peer's 256 MiB: it rounds up to a power of two) shows the part that grows.
Both with ``processes: 2`` (one per core; the default is 1), ``skip_empty: true`` (ours skips blank
paragraphs by default), whole paragraphs (no ``by_ngram``), ``min_length`` 0 (both defaults), the filter
sized by Dolma itself from ``estimated_doc_count`` and ``desired_false_positive_rate`` (it rounds the
size up to a power of two: 16 MiB here, ours 10.3 MiB for the same figures; both file sizes are
recorded). Nothing else in its config affects the speed of a local run. Ours runs its CLI in both.

Work check: the duplicate spans each side wrote are cut out of the document texts (trailing newline
dropped: Dolma's spans include it) and compared as multisets of paragraph texts. Which copy of a
paragraph counts as "first" depends on Dolma's thread scheduling; the text and the number of copies
marked do not. Tolerance: 0 found only by the peer and 0 only by us, or no ratio is printed, with
one exception, stated in the check's note whenever it applies: Dolma's threads share the filter with
a lookup and an insert that are separate atomic steps, so when two threads meet the same new paragraph
at the same moment both take it as first and the peer marks one copy fewer (seen once on the whole
corpus, 624,496 against our 624,497, in 1 of 8 peer runs). Copies only we marked are therefore
tolerated when the peer marked nothing we did not, no text is short by more than ``processes - 1``
copies, and there are at most max(3, 1e-5 of all) of them; ``--strict`` removes even that.

    uv run --frozen python tools/bench/dolma_dedupe.py --quick      # ~1 minute
    uv run --frozen python tools/bench/dolma_dedupe.py              # primary figure, whole corpus
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import resource
import shutil
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402

CORPUS = harness.SHARED / "corpus"
PEER = harness.PeerEnv(("dolma==1.2.1",))
QUICK_SOURCES = ["manpages", "kernel_docs"]
# the filter of the 16x corpus in tools/bench/data_scaling.py (2.5M paragraphs per 1x): at this size
# the filter, not the interpreters, is most of either side's memory
LARGE_FILTER_ITEMS = 40_000_000
# The peer's Rust deduper without its CLI: the compiled extension (dolma/dolma.cpython-*.so) is loaded on
# its own, so none of the Python package's imports (taggers, nltk, boto3, omegaconf) run.
RUST_CORE = """
import glob, importlib.util, sys, sysconfig
so = glob.glob(sysconfig.get_paths()["platlib"] + "/dolma/dolma.cpython-*.so")[0]
core = importlib.util.module_from_spec(importlib.util.spec_from_file_location("dolma", so))
core.deduper_entrypoint(open(sys.argv[1]).read())
"""


class CpuMeter:
    """CPU seconds (user + system) of one command's whole process tree per round, from
    ``getrusage(RUSAGE_CHILDREN)`` read just before the command starts and just after it was reaped."""

    def __init__(self) -> None:
        self.rounds: list[float] = []  # CPU seconds per round, warm-up first
        self._t0 = 0.0

    @staticmethod
    def _now() -> float:
        r = resource.getrusage(resource.RUSAGE_CHILDREN)
        return r.ru_utime + r.ru_stime

    def before(self, *paths: Path) -> Any:
        def before() -> None:
            for p in paths:
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink(missing_ok=True)
            self._t0 = self._now()
        return before

    def collect(self, collect: Any) -> Any:
        def wrapped() -> tuple[float, Any]:
            self.rounds.append(self._now() - self._t0)
            return collect()
        return wrapped


def duplicates(attr_root: Path, texts: dict[str, str]) -> dict[str, Any]:
    """The duplicate paragraphs a side marked: a multiset of their texts (as digests), with totals."""
    from dolma_tools.docio import iter_json_lines

    found: collections.Counter[str] = collections.Counter()
    chars = 0
    for path in sorted(attr_root.rglob("*.jsonl*")):
        rel = path.relative_to(attr_root).as_posix()
        for _, row in iter_json_lines(path):
            text = texts[f"{rel}/{row['id']}"]
            for spans in row["attributes"].values():
                for start, end, _ in spans or []:
                    piece = text[int(start):int(end)]
                    piece = piece[:-1] if piece.endswith("\n") else piece
                    found[hashlib.blake2b(piece.encode(), digest_size=12).hexdigest()] += 1
                    chars += len(piece)
    return {"multiset": found, "paragraphs": sum(found.values()), "chars": chars}


def check_duplicates(ours: dict[str, Any], theirs: dict[str, Any], processes: int = 2,
                     strict: bool = False) -> tuple[bool, str]:
    """Identical multisets, or (unless ``strict``) differing only by the copies Dolma's threads miss when
    two of them check-then-insert the same paragraph at the same moment (its filter's lookup and insert
    are separate atomic steps, so both see it as new): then the peer marks fewer copies, never more,
    at most ``processes - 1`` fewer of any one text, and only a handful in all."""
    missed = ours["multiset"] - theirs["multiset"]
    only_theirs = sum((theirs["multiset"] - ours["multiset"]).values())
    only_ours = sum(missed.values())
    note = (f"duplicate paragraphs as multisets of texts: {theirs['paragraphs']:,} marked by the peer, "
            f"{ours['paragraphs']:,} by us; {only_theirs} only by the peer, {only_ours} only by us")
    if only_theirs == 0 and only_ours == 0:
        return True, note + " (identical)"
    race = (not strict and only_theirs == 0 and max(missed.values()) <= processes - 1
            and all(ours["multiset"][k] >= 1 for k in missed) and only_ours <= max(3, ours["paragraphs"] // 100_000))
    if race:
        return True, note + (f" (the {only_ours} only ours: copies of {len(missed)} repeated texts the peer's "
                             f"concurrent threads both took as first; tolerated unless --strict)")
    return False, note


def make_check(cpu_ours: CpuMeter, cpu_theirs: CpuMeter, sizes: dict[str, int], extra: dict[str, Any],
               rounds: int, processes: int, strict: bool) -> Any:
    def check(a: Any, b: Any) -> tuple[bool, str]:
        # runs after every round, before the record is written: the CPU and filter figures go with it
        if len(cpu_ours.rounds) == len(cpu_theirs.rounds) == rounds + 1:
            extra["cpu_time_ratio"] = statistics.median(
                t / o for o, t in zip(cpu_ours.rounds[1:], cpu_theirs.rounds[1:], strict=True))
            extra["filter_bytes_ours"], extra["filter_bytes_theirs"] = sizes["ours"], sizes["theirs"]
            extra["duplicate_paragraphs"], extra["duplicate_chars"] = b["paragraphs"], b["chars"]
        same, note = check_duplicates(a, b, processes, strict)
        if same and "tolerated" in note:  # the record says in how many rounds the peer's race showed
            extra["peer_race_rounds"] = extra.get("peer_race_rounds", 0) + 1
            extra.setdefault("peer_race_notes", []).append(note)
        return same, note
    return check


def main() -> list[harness.Result]:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="two sources instead of the whole corpus")
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--expected-items", type=int, default=3_000_000)
    parser.add_argument("--false-positive-rate", type=float, default=1e-6)
    parser.add_argument("--large-filter-items", type=int, default=LARGE_FILTER_ITEMS,
                        help="also compare with both filters sized for this many items (0: not); default: "
                             "the 16x scaling corpus's filter (data_scaling.py)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--strict", action="store_true",
                        help="fail on any difference, even the peer's thread race (see the work check)")
    args = parser.parse_args()
    from dolma_tools.docio import expand_inputs, iter_documents

    exe = PEER.exe("dolma")
    sources = QUICK_SOURCES if args.quick else sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    work = Path(tempfile.mkdtemp(prefix="bench-dolma-dedupe-"))
    try:
        docs_root = work / "documents"
        docs_root.mkdir()
        for s in sources:
            (docs_root / s).symlink_to(CORPUS / s)
        pattern = str(docs_root / "*" / "*.jsonl.zst")
        texts = {f"{f.relative_to(docs_root).as_posix()}/{d.id}": d.text
                 for f in map(Path, expand_inputs(pattern)) for _, d in iter_documents(f)}
        n_docs, n_files = len(texts), len({k.rsplit("/", 1)[0] for k in texts})
        peer_out, peer_bloom = work / "attributes" / "peer", work / "peer.bloom"
        ours_out, ours_bloom = work / "attributes" / "ours", work / "ours.bloom"
        (work / "wd-in").mkdir()
        (work / "wd-out").mkdir()

        def peer_configs(items: int) -> tuple[Path, Path]:
            """Dolma's CLI config and the config its CLI hands the Rust core, for a filter of ``items``."""
            config, core_config = work / f"peer-{items}.yaml", work / f"peer-core-{items}.json"
            config.write_text(json.dumps({  # JSON is YAML
                "documents": [pattern],
                "dedupe": {"name": "peer", "paragraphs": {"attribute_name": "dup_paragraphs"}, "skip_empty": True},
                "bloom_filter": {"file": str(peer_bloom), "read_only": False, "estimated_doc_count": items,
                                 "desired_false_positive_rate": args.false_positive_rate},
                "processes": args.processes}))
            core_config.write_text(json.dumps({  # what `dolma dedupe` hands its Rust entry point (see --dryrun)
                "documents": [pattern],
                "dedupe": {"name": "peer", "document_dir": "documents", "file_partition": False, "min_length": 0,
                           "min_words": 0, "num_partitions": 1, "partition_index": 0, "skip_empty": True,
                           "paragraphs": {"attribute_name": "dup_paragraphs", "paragraph_separator": "\n",
                                          "by_ngram": {"ngram_length": 0, "overlap_threshold": 1.0,
                                                       "skip_short_paragraphs": False, "stride": 0}}},
                "bloom_filter": {"file": str(peer_bloom), "read_only": False, "size_in_bytes": 0,
                                 "estimated_doc_count": items,
                                 "desired_false_positive_rate": args.false_positive_rate},
                "compression": {"input": None, "output": None}, "is_s3_volume": False,
                "work_dir": {"input": str(work / "wd-in"), "output": str(work / "wd-out")},
                "processes": args.processes}))
            return config, core_config

        def ours_argv(items: int) -> list[Any]:
            return [sys.executable, "-m", "dolma_tools.cli", "dedupe", "--documents", pattern, "--destination",
                    ours_out, "--mode", "paragraph", "--processes", args.processes, "--expected-items", items,
                    "--false-positive-rate", args.false_positive_rate, "--save-filter", ours_bloom, "--no-progress"]

        config, core_config = peer_configs(args.expected_items)
        core_setting = (f"its Rust deduper called directly (dolma.dolma.deduper_entrypoint, the config its CLI "
                        f"builds), no CLI start-up; processes {args.processes}, skip_empty, whole paragraphs, filter "
                        f"sized by Dolma from the same count and rate")
        variants = [  # (variant, the peer's command, its setting in words, primary, filter items)
            ("" if not args.quick else "quick", [PEER.python, "-c", RUST_CORE, core_config], core_setting, True,
             args.expected_items),
            ("peer CLI" + (", quick" if args.quick else ""), [exe, "-c", config, "dedupe"],
             f"`dolma -c config.yaml dedupe` as users run it (its Python start-up included); processes "
             f"{args.processes}, skip_empty, whole paragraphs, same filter figures", False, args.expected_items),
        ]
        if args.large_filter_items:
            variants.append((f"{args.large_filter_items / 1e6:g}M-item filter" + (", quick" if args.quick else ""),
                             [PEER.python, "-c", RUST_CORE, peer_configs(args.large_filter_items)[1]],
                             core_setting, False, args.large_filter_items))
        results = []
        for variant, peer_argv, setting, primary, items in variants:
            cpu_ours, cpu_theirs = CpuMeter(), CpuMeter()
            sizes: dict[str, int] = {}

            def collect(out: Path, bloom: Path, key: str, sizes: dict[str, int] = sizes) -> Any:
                def f() -> tuple[float, Any]:
                    sizes[key] = bloom.stat().st_size
                    return float(n_docs), duplicates(out, texts)
                return f

            theirs = harness.Command("dolma dedupe" if "CLI" in variant else "dolma (Rust core)", peer_argv,
                                     collect=cpu_theirs.collect(collect(peer_out, peer_bloom, "theirs")),
                                     before=cpu_theirs.before(peer_out, peer_bloom), cwd=work)
            ours = harness.Command("dolma-tools dedupe", ours_argv(items),
                                   collect=cpu_ours.collect(collect(ours_out, ours_bloom, "ours")),
                                   before=cpu_ours.before(ours_out, ours_bloom), cwd=work)
            extra: dict[str, Any] = {"sources": sources, "documents": n_docs, "files": n_files,
                                     "processes": args.processes, "expected_items": items,
                                     "false_positive_rate": args.false_positive_rate,
                                     "cpu_s_ours": cpu_ours.rounds, "cpu_s_theirs": cpu_theirs.rounds}
            check = make_check(cpu_ours, cpu_theirs, sizes, extra, args.rounds, args.processes, args.strict)
            result = harness.compare(
                "dolma_dedupe", ours, theirs, peer=PEER.label, unit="documents/s", rounds=args.rounds,
                variant=variant, primary=primary, check=check, goal=1.0, peer_setting=setting,
                work=f"paragraph dedup of {n_docs:,} documents ({n_files} files: {', '.join(sources)}) with "
                     f"{args.processes} processes, Bloom filter for {items:,} items at "
                     f"p={args.false_positive_rate:g}, filter saved; one command per round, start-up included",
                limits="runs of a few seconds: ours pays Python start-up and imports in 3 processes and "
                       "hashes in Python, the peer's Rust core starts in ~0.1 s; our summed RSS is three "
                       "interpreters (the filter's owner with NumPy, ~33 MiB before any work, and "
                       f"{args.processes} hashing workers without it, ~15 MiB each) against one Rust process "
                       "in a bare interpreter",
                extra=extra)
            result.cpu_ratio = extra.get("cpu_time_ratio")
            harness.log(f"   CPU time of the process trees (timed rounds): ratio {result.cpu_ratio:.3f} (peer / "
                        f"ours; above 1: we use less CPU); filter files: ours {sizes['ours']:,} B, peer "
                        f"{sizes['theirs']:,} B")
            results.append(result)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


if __name__ == "__main__":
    harness.run(main)
