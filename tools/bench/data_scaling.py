"""Scaling of the data stages: docs/s and peak memory per worker process as the corpus grows.

For each scale the shared sample is expanded with ``dolma-tools synth-corpus --scale N`` (deterministic;
cached under ``~/.cache/olmo-stack/bench-data/synth-<scale>-<seed>``), then each stage runs as its own
``dolma-tools`` command on that corpus, in this order (mix reads the tag stage's attributes):

  * ``tag``: the demo's taggers (``src/olmo_stack/configs/demo_data.yaml``: fastText language id, PII
    regexes, character length, Gopher), ``--processes P``;
  * ``mix``: the demo's filter and PII masking as a recipe, ``--skip-tag`` (the attributes above);
  * ``dedupe``: Bloom paragraph dedup, ``--processes P``, the filter sized for the corpus as a user
    would (``--bloom-items-per-scale`` x the scale items at p = 1e-6), so it grows with the scale; its
    size is recorded and the bound check leaves it aside (issue 19: "the filter's own size aside");
  * ``minhash``: MinHash near-duplicate documents (datatrove's shingles/bands/rows), ``--processes P``;
  * ``decontaminate``: every paragraph of one sample file (``--eval-file``) indexed as "eval" data, the
    corpus scanned against it (the local scan runs in one process);
  * ``tokens``: the shipped OLMo tokenizer, ``--processes P``, the demo's 16M tokens per shard.

What is measured, per stage and scale: wall time of the command (its start-up included) and documents/s
(input documents over that time); **peak RSS per worker**: the largest resident set any single process
of the stage's tree reached, the maximum of (a) each member's ``VmHWM`` (its own high-water mark, read
from ``/proc/<pid>/status`` every 20 ms while it lives) and (b) ``getrusage(RUSAGE_CHILDREN).ru_maxrss``
of a small wrapper process that is the stage's parent (the kernel keeps the largest of every reaped
descendant, so a worker that lived between two polls still counts); and the peak of the tree's summed
RSS (polled). The bound check compares, per stage, the peak per worker at the largest scale with the
smallest scale's, each less the stage's filter (dedupe only): within 1.25x or not.

Peers (``--peers``, ``data_scaling_peers.py``): Dolma 1.2.1 for tag, Bloom dedup and tokens, datatrove
0.10.1 for MinHash and filtering, each run on the same corpus after ours and measured the same way; their
records carry ``side`` (the peer) and sit in a second table and as dashed lines in the plot.

Writes ``docs/scaling.jsonl`` (one record per stage, scale and side, saved as each stage ends; records of
other scales from earlier runs are kept, so 16x can be added later), the ``<!-- scaling -->`` section of
``docs/benchmarks.md`` and ``docs/scaling.png``.

    uv run --frozen python tools/bench/data_scaling.py --quick              # 0.25x and 1x
    uv run --frozen python tools/bench/data_scaling.py --scales 4           # add 4x to the records
    uv run --frozen python tools/bench/data_scaling.py                      # 1x, 4x, 16x
    uv run --frozen python tools/bench/data_scaling.py --scales 0.25,1 --stages '' --peers all  # peers only
    uv run --frozen python tools/bench/data_scaling.py --render             # table and plot from the records
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from data_scaling_peers import PEER_STAGES, PeerStage  # noqa: E402

DOCS = harness.REPO / "docs"
CACHE = Path(os.environ.get("OLMO_BENCH_DATA", Path.home() / ".cache" / "olmo-stack" / "bench-data"))
BLOOM_ITEMS_PER_SCALE = 2_500_000
BOUND = 1.25  # issue 19: peak RSS per worker at the largest scale within 1.25x of the smallest
SECTION = re.compile(r"<!-- scaling -->\n.*?<!-- /scaling -->\n?", re.DOTALL)
# The stage's parent: runs the command, then reports its wall time and the largest RSS of any reaped
# descendant (Linux keeps the maximum over the whole reaped tree in RUSAGE_CHILDREN).
WRAPPER = """
import json, resource, subprocess, sys, time
t = time.perf_counter()
with open(sys.argv[2], "wb") as log:
    rc = subprocess.call(sys.argv[3:], stdout=log, stderr=subprocess.STDOUT)
seconds = time.perf_counter() - t
with open(sys.argv[1], "w") as f:
    json.dump({"rc": rc, "seconds": seconds,
               "children_maxrss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024}, f)
"""


# --------------------------------------------------------------------------------------------------
# Measuring one command


def _status_kib(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (not ``pid`` itself), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, stack = [], list(children.get(pid, []))
    while stack:
        p = stack.pop()
        out.append(p)
        stack.extend(children.get(p, []))
    return out


@dataclass
class Measured:
    rc: int
    seconds: float
    peak_worker_bytes: int  # the largest RSS of any one process of the tree
    peak_tree_bytes: int  # the largest summed RSS of the tree seen by the poller
    processes_seen: int
    peak_worker_anon_bytes: int = 0  # the largest anonymous RSS (RssAnon: no file pages) the poller saw


def measure(argv: list[str], *, log: Path, env: dict[str, str] | None = None, cwd: Path | None = None,
            interval: float = 0.02, timeout: float | None = None) -> Measured:
    """Run ``argv`` under the wrapper; poll its tree's members (the wrapper itself excluded)."""
    with tempfile.TemporaryDirectory(prefix="scaling-measure-") as tmp:
        report = Path(tmp) / "report.json"
        proc = subprocess.Popen([sys.executable, "-c", WRAPPER, str(report), str(log), *map(str, argv)],
                                env=env, cwd=cwd)
        hwm: dict[int, int] = {}
        peak_tree = peak_anon = 0
        stop = threading.Event()

        def poll() -> None:
            nonlocal peak_tree, peak_anon
            while not stop.is_set():
                members = descendants(proc.pid)
                tree = 0
                for p in members:
                    hwm[p] = max(hwm.get(p, 0), _status_kib(p, "VmHWM") * 1024)
                    tree += _status_kib(p, "VmRSS") * 1024
                    peak_anon = max(peak_anon, _status_kib(p, "RssAnon") * 1024)
                peak_tree = max(peak_tree, tree)
                stop.wait(interval)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            proc.wait(timeout=timeout)
        finally:
            stop.set()
            poller.join()
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        if not report.is_file():
            raise RuntimeError(f"the measuring wrapper of {argv[:4]} died (exit {proc.returncode})")
        rep = json.loads(report.read_text())
    return Measured(rc=int(rep["rc"]), seconds=float(rep["seconds"]),
                    peak_worker_bytes=max([int(rep["children_maxrss_bytes"]), *hwm.values()]),
                    peak_tree_bytes=peak_tree, processes_seen=len(hwm), peak_worker_anon_bytes=peak_anon)


# --------------------------------------------------------------------------------------------------
# Corpora and stages


def synth_corpus(scale: float, seed: int, env: dict[str, str]) -> Path:
    """The cached ``synth-corpus`` output for ``scale`` and ``seed`` (built once, renamed when complete)."""
    final = CACHE / f"synth-{scale:g}-{seed}"
    if (final / "synth.json").is_file():
        return final
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".synth-{scale:g}-{seed}-", dir=CACHE))
    harness.log(f"building the {scale:g}x synth corpus (seed {seed}) in {final} ...")
    subprocess.run([sys.executable, "-m", "dolma_tools.cli", "synth-corpus", "--scale", f"{scale:g}", "--seed",
                    str(seed), "--documents", str(harness.SHARED / "corpus"), "--destination", str(tmp),
                    "--no-progress"], check=True, env=env, stdout=subprocess.DEVNULL)
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)
    return final


def filter_mib(items: int, false_positive_rate: float = 1e-6) -> float:
    """The in-memory size of dolma-tools' Bloom filter for ``items`` (packed bits, ``m / 8`` bytes)."""
    from dolma_tools.dedupe.bloom import BloomParams

    return BloomParams.for_capacity(items, false_positive_rate).num_bits / 8 / 2**20


@dataclass
class Ctx:
    corpus: Path  # the synth-corpus folder (documents/ inside)
    work: Path  # this scale's outputs
    processes: int
    bloom_items: int
    eval_file: Path

    @property
    def documents(self) -> str:
        return str(self.corpus / "documents")


DEMO_TAGGERS = ["ft_lang_id_doc_v1", "pii_regex_v1", "char_length_v1", "gopher_v1"]
STAGES: dict[str, Callable[[Ctx], list[str]]] = {}


def stage(name: str) -> Callable[[Callable[[Ctx], list[str]]], Callable[[Ctx], list[str]]]:
    def register(fn: Callable[[Ctx], list[str]]) -> Callable[[Ctx], list[str]]:
        STAGES[name] = fn
        return fn
    return register


@stage("tag")
def _tag(c: Ctx) -> list[str]:
    return ["tag", "--documents", c.documents, "--attributes-root", str(c.work / "attributes"), "--taggers",
            *DEMO_TAGGERS, "--experiment", "quality", "--processes", str(c.processes), "--no-progress"]


def demo_recipe(c: Ctx) -> Path:
    """The demo's filter and PII masking (``demo_data.yaml``) as a mix recipe over the tag stage's attributes."""
    import yaml

    demo = yaml.safe_load((harness.REPO / "src" / "olmo_stack" / "configs" / "demo_data.yaml").read_text())
    recipe = {"name": "scaling_demo", "mix": {"attributes": ["quality"], **demo["filter"]}}
    path = c.work / "recipe.yaml"
    path.write_text(json.dumps(recipe))  # JSON is YAML
    return path


@stage("mix")
def _mix(c: Ctx) -> list[str]:
    return ["mix", "--recipe", str(demo_recipe(c)), "--skip-tag", "--documents", c.documents, "--destination",
            str(c.work / "mixed"), "--attributes-root", str(c.work / "attributes"), "--processes",
            str(c.processes), "--no-progress"]


@stage("dedupe")
def _dedupe(c: Ctx) -> list[str]:
    return ["dedupe", "--mode", "paragraph", "--documents", c.documents, "--destination",
            str(c.work / "attributes" / "dedupe"), "--processes", str(c.processes), "--expected-items",
            str(c.bloom_items), "--false-positive-rate", "1e-6", "--no-progress"]


@stage("minhash")
def _minhash(c: Ctx) -> list[str]:
    return ["dedupe", "--mode", "minhash", "--documents", c.documents, "--destination",
            str(c.work / "attributes" / "minhash"), "--processes", str(c.processes), "--work-dir",
            str(c.work), "--no-progress"]


@stage("decontaminate")
def _decontaminate(c: Ctx) -> list[str]:
    return ["decontaminate", "--eval-documents", str(c.eval_file), "--documents", c.documents, "--destination",
            str(c.work / "decon"), "--flag-only", "--no-progress"]


# The demo's shard size (demo_data.yaml, ``tokens.max_tokens_per_file``). The packer holds one shard's
# tokens in memory, so with the command's default (2^28 tokens, 1 GiB of uint32) its peak grows with the
# corpus until a shard is full: 1x and 4x would both be one shard.
DEMO_MAX_TOKENS_PER_FILE = 16_000_000


@stage("tokens")
def _tokens(c: Ctx) -> list[str]:
    return ["tokens", "--documents", c.documents, "--destination", str(c.work / "tokens"), "--processes",
            str(c.processes), "--max-tokens-per-file", str(DEMO_MAX_TOKENS_PER_FILE), "--no-progress"]


# --------------------------------------------------------------------------------------------------
# Summary, table, plot


def with_ratios(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each record with ``peak_ratio``: its peak per worker over the same stage's peak at 1x (or, without a
    1x record, at its smallest scale), each less the stage's filter (the bound leaves it aside)."""
    out = []
    for r in records:
        same = {x["scale"]: x for x in records if x["stage"] == r["stage"]}
        base = same.get(1.0) or same[min(same)]
        out.append({**r, "peak_ratio": _bounded_mib(r) / _bounded_mib(base)})
    return out


def _bounded_mib(r: dict[str, Any]) -> float:
    """The peak per worker the bound is about: less the stage's own filter (issue 19 leaves it aside)."""
    return r["peak_worker_mib"] - (r.get("filter_mib") or 0.0)


def bound_check(records: list[dict[str, Any]], bound: float = BOUND) -> dict[str, dict[str, Any]]:
    """Per stage: the peak per worker at the largest scale over the smallest scale's (each less the
    stage's filter), and whether it is within ``bound``."""
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(r["stage"] for r in records):
        by_scale = {r["scale"]: r for r in records if r["stage"] == name}
        lo, hi = min(by_scale), max(by_scale)
        ratio = _bounded_mib(by_scale[hi]) / _bounded_mib(by_scale[lo])
        out[name] = {"smallest": lo, "largest": hi, "ratio": ratio, "within": ratio <= bound}
    return out


# Why a stage's peak grows where it does, shown under the table while the stage is over the bound: what
# the code holds, so a reader knows what to change. None is over today (Bloom dedup's whole-file hashes and
# the token packer's mapped pages, the two that were, are gone: see git log).
GROWTH: dict[str, str] = {}


def markdown(records: list[dict[str, Any]], notes: dict[str, str] | None = None) -> str:
    peer_records = [r for r in records if side(r) != OURS]
    records = ours(records)
    recs = with_ratios(records)
    scales = sorted({r["scale"] for r in recs})
    stages = list(dict.fromkeys(r["stage"] for r in recs))
    cell = {(r["stage"], r["scale"]): r for r in recs}
    head = "| stage | " + " | ".join(f"{s:g}x: docs/s, peak RSS/worker (ratio to 1x, filter aside)" for s in scales) + \
        " | bound (largest / smallest) | time per document, largest / 1x |"
    rows = [head, "|" + " --- |" * (len(scales) + 3)]
    checks = bound_check(records)
    for name in stages:
        cells = []
        for s in scales:
            r = cell.get((name, s))
            filt = f", filter {r['filter_mib']:.1f} MiB" if r and r.get("filter_mib") else ""
            cells.append("" if r is None else f"{r['docs_per_s']:,.0f}, {r['peak_worker_mib']:.0f} MiB "
                                              f"({r['peak_ratio']:.2f}{filt})")
        c = checks[name]
        cells.append(f"{c['ratio']:.2f} {'✓' if c['within'] else '✗'} ({c['largest']:g}x / {c['smallest']:g}x)")
        one, big = cell.get((name, 1.0)), cell.get((name, c["largest"]))
        cells.append(f"{one['docs_per_s'] / big['docs_per_s']:.2f} (load {one['load_1m']:.0f} / {big['load_1m']:.0f})"
                     if one and big and big is not one and "load_1m" in one and "load_1m" in big else "")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    docs = ", ".join(f"{s:g}x {next(r['documents'] for r in recs if r['scale'] == s):,}" for s in scales)
    stamp = max((r["measured"] for r in recs + peer_records), default="none")
    text = [
        "<!-- scaling -->",
        "## Scaling of the data stages",
        "",
        f"Written by `tools/bench/data_scaling.py` (latest record {stamp}; `docs/scaling.jsonl` has every "
        f"figure, `docs/scaling.png` the plot). Synth corpora ({docs} documents), each stage its own "
        "`dolma-tools` command with 2 processes where it has a pool; docs/s is input documents over the "
        "command's wall time, start-up included; peak RSS per worker is the largest resident set of any one "
        "process of the stage (its VmHWM, and the wrapper's RUSAGE_CHILDREN maxrss); the ratio is to the "
        "stage's 1x peak, both less the stage's filter. Bound (issue 19): the largest scale's peak per worker "
        f"within {BOUND}x of the smallest's, the filter's own size aside (the Bloom filter is sized for each corpus, "
        f"{BLOOM_ITEMS_PER_SCALE:,} paragraphs per 1x at p = 1e-6, and counted in its peak); tokens writes "
        f"the demo's {DEMO_MAX_TOKENS_PER_FILE:,} tokens per shard. The 2-core machine is shared: docs/s is "
        "noisy, memory much less so. Time per document at the largest scale over 1x is 1.00 for a stage "
        "whose time grows linearly; the load averages beside it (2 cores) say how much of a difference the "
        "machine made.",
        "",
        *rows,
    ]
    notes = GROWTH if notes is None else notes
    for name in stages:
        if not checks[name]["within"] and name in notes:
            text.append(f"\n- `{name}` grows: {notes[name]}")
    if peer_records:
        text += ["", *peer_table(records, peer_records)]
    text.append("<!-- /scaling -->")
    return "\n".join(text) + "\n"


def counterpart(records: list[dict[str, Any]], peer: dict[str, Any]) -> dict[str, Any] | None:
    """Our figures for what ``peer`` did at its scale: its ``ours`` stages' records, times added and the
    larger peak per worker (None if one of them was not measured at that scale)."""
    mine = [next((r for r in records if r["stage"] == name and r["scale"] == peer["scale"]), None)
            for name in peer.get("ours") or [peer["stage"]]]
    if not mine or any(r is None for r in mine):
        return None
    seconds = sum(r.get("seconds") or r["documents"] / r["docs_per_s"] for r in mine)  # type: ignore[union-attr]
    return {"seconds": seconds, "docs_per_s": peer["documents"] / seconds,
            "peak_worker_mib": max(r["peak_worker_mib"] for r in mine),  # type: ignore[index]
            "filter_mib": max(r.get("filter_mib") or 0.0 for r in mine),  # type: ignore[union-attr]
            "load_1m": max((r["load_1m"] for r in mine if r.get("load_1m") is not None), default=None)}  # type: ignore


def _filter_note(r: dict[str, Any]) -> str:
    return f" (filter {r['filter_mib']:.1f})" if r.get("filter_mib") else ""


def _load(r: dict[str, Any]) -> str:
    return f"{r['load_1m']:.1f}" if isinstance(r.get("load_1m"), (int, float)) else "?"


def peer_table(records: list[dict[str, Any]], peers: list[dict[str, Any]]) -> list[str]:
    """The peers' rows: per stage and scale, their docs/s and peak RSS per worker beside ours."""
    rows = ["### The same stages run by the peers",
            "",
            "Each peer in its pinned environment (the head-to-head benchmarks' own), on the same synth corpus, "
            "measured the same way (`tools/bench/data_scaling_peers.py` says what each runs). Ratios are ours "
            "over the peer's: docs/s above 1 and memory below 1 favour us; memory includes a Bloom filter "
            "(Dolma rounds its size up to a power of two). Ours for `filter` is our `tag` "
            "then `mix` (times added, the larger peak); datatrove's rules differ from ours (see "
            "`vs_datatrove.py`), Dolma's taggers, deduper and tokenizer are the same work. With `--peers` and "
            "the stages together a scale's peers run right after ours; the last column is the 1-minute load "
            "average as each side ended (2 cores): docs/s ratios at loads near 2 compare like with like, at "
            "higher loads they are rough; memory ratios do not depend on the load.",
            "",
            "| stage | peer | scale | ours: docs/s, peak RSS/worker | peer: docs/s, peak RSS/worker | docs/s ratio "
            "| memory ratio | load, ours / peer |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for p in sorted(peers, key=lambda r: (list(PEER_STAGES).index(r["stage"]) if r["stage"] in PEER_STAGES else 99,
                                          r["scale"])):
        o = counterpart(records, p)
        theirs = f"{p['docs_per_s']:,.0f}, {p['peak_worker_mib']:.0f} MiB" + _filter_note(p)
        if o is None:
            rows.append(f"| {p['stage']} | {side(p)} | {p['scale']:g}x | not measured | {theirs} | | | |")
            continue
        rows.append(f"| {p['stage']} | {side(p)} | {p['scale']:g}x | {o['docs_per_s']:,.0f}, "
                    f"{o['peak_worker_mib']:.0f} MiB{_filter_note(o)} | {theirs} | {o['docs_per_s'] / p['docs_per_s']:.2f} | "
                    f"{o['peak_worker_mib'] / p['peak_worker_mib']:.2f} | {_load(o)} / {_load(p)} |")
    return rows


def write_section(md: Path, section: str) -> None:
    """Replace the ``<!-- scaling -->`` section of ``md`` (appended when it has none); temp name, then rename."""
    old = md.read_text() if md.is_file() else "# Benchmarks\n"
    new = SECTION.sub(lambda _: section, old) if SECTION.search(old) else old.rstrip("\n") + "\n\n" + section
    tmp = md.with_name(md.name + ".tmp")
    tmp.write_text(new)
    os.replace(tmp, md)


def plot(records: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.6))
    colors: dict[str, Any] = {}
    for who in dict.fromkeys(sorted((side(r) for r in records), key=lambda w: w != OURS)):
        mine = [r for r in records if side(r) == who]
        for name in dict.fromkeys(r["stage"] for r in mine):
            rs = sorted((r for r in mine if r["stage"] == name), key=lambda r: r["scale"])
            xs = [r["scale"] for r in rs]
            style = {"marker": "o"} if who == OURS else {"marker": "x", "linestyle": "--"}
            if name in colors:
                style["color"] = colors[name]
            label = name if who == OURS else f"{name} ({who})"
            (line,) = a1.plot(xs, [_bounded_mib(r) for r in rs], label=label, **style)
            colors.setdefault(name, line.get_color())
            a2.plot(xs, [r["docs_per_s"] for r in rs], label=label, color=line.get_color(),
                    **{k: v for k, v in style.items() if k != "color"})
    scales = sorted({r["scale"] for r in records})
    a2.set_yscale("log")  # the peers' docs/s sit one or two orders of magnitude apart from ours
    a1.set_ylim(bottom=0)
    for ax, label in ((a1, "peak RSS per worker, a Bloom filter aside (MiB)"), (a2, "documents/s")):
        ax.set_xscale("log", base=2)
        ax.set_xticks(scales, [f"{s:g}x" for s in scales])
        ax.set_xlabel("corpus scale (x the shared sample)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    a1.legend(fontsize=7, ncol=2)
    fig.suptitle("Data stages against corpus size, ours (solid) and the peers (dashed); tools/bench/data_scaling.py")
    fig.tight_layout()
    tmp = path.with_name(path.name + ".tmp.png")
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


OURS = "dolma-tools"


def side(r: dict[str, Any]) -> str:
    """Who measured a record: ours (records before the peers were added have no ``side``) or a peer."""
    return r.get("side") or OURS


def ours(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in records if side(r) == OURS]


def merge(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``new`` replaces the records of ``old`` with the same stage, scale and side."""
    keys = {(r["stage"], r["scale"], side(r)) for r in new}
    return sorted([r for r in old if (r["stage"], r["scale"], side(r)) not in keys] + new,
                  key=lambda r: (list(STAGES).index(r["stage"]) if r["stage"] in STAGES else 99, side(r) != OURS,
                                 side(r), r["scale"]))


def save_records(out: Path, new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge ``new`` into ``out/scaling.jsonl`` (temp name, then rename); returns all the records."""
    out.mkdir(parents=True, exist_ok=True)
    jsonl = out / "scaling.jsonl"
    old = [json.loads(x) for x in jsonl.read_text().splitlines() if x.strip()] if jsonl.is_file() else []
    allrecs = merge(old, new)
    tmp = jsonl.with_name(jsonl.name + ".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in allrecs))
    os.replace(tmp, jsonl)
    return allrecs


def run_peer(ps: PeerStage, ctx: Ctx, scale: float, n_docs: int, args: argparse.Namespace, env: dict[str, str],
             stamp: str) -> dict[str, Any]:
    """One peer stage on this scale's corpus, measured as ours are; its record is saved at once."""
    run = ps.build(ctx)
    log = ctx.work / f"peer-{ps.name}.log"
    m = measure(run.argv, log=log, env={**env, **run.env}, cwd=ctx.work, timeout=args.timeout)
    if m.rc != 0:
        harness.log(log.read_text()[-3000:])
        raise SystemExit(f"peer stage {ps.name} ({ps.label}) at {scale:g}x failed (exit {m.rc}); log above")
    rec = {"stage": ps.name, "side": ps.label, "ours": list(ps.ours), "scale": scale, "seed": args.seed,
           "documents": n_docs, "processes": args.processes, "seconds": round(m.seconds, 3),
           "docs_per_s": n_docs / m.seconds, "peak_worker_mib": m.peak_worker_bytes / 2**20,
           "peak_tree_mib": m.peak_tree_bytes / 2**20, "processes_seen": m.processes_seen,
           "peak_worker_anon_mib": m.peak_worker_anon_bytes / 2**20, "filter_mib": run.filter_mib,
           "bloom_items": ctx.bloom_items if run.filter_mib else None, "setting": run.setting, "measured": stamp,
           "cpu_count": os.cpu_count(), "load_1m": os.getloadavg()[0]}
    save_records(args.out, [rec])
    harness.log(f"{scale:g}x {ps.name:>13} [{ps.label}]: {n_docs:,} docs in {m.seconds:.1f} s = "
                f"{rec['docs_per_s']:,.0f} docs/s; peak RSS per worker {rec['peak_worker_mib']:.0f} MiB "
                f"(tree {rec['peak_tree_mib']:.0f} MiB, {m.processes_seen} processes)")
    return rec


# --------------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scales", default="1,4,16", help="comma-separated corpus scales (default 1,4,16)")
    ap.add_argument("--quick", action="store_true", help="scales 0.25,1")
    ap.add_argument("--stages", default=",".join(STAGES), help=f"subset of {','.join(STAGES)}")
    ap.add_argument("--peers", default="",
                    help=f"also run these peer stages after ours at each scale ('all' or a subset of "
                         f"{','.join(PEER_STAGES)}; see data_scaling_peers.py); --stages '' runs only them")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--bloom-items-per-scale", type=int, default=BLOOM_ITEMS_PER_SCALE,
                    help="Bloom filter capacity per 1x of corpus (the 1x synth corpus has ~2.4M paragraphs)")
    ap.add_argument("--eval-file", type=Path,
                    default=harness.SHARED / "corpus" / "python_docs" / "python_docs-0000.jsonl.zst",
                    help="documents whose paragraphs the decontaminate stage treats as eval data")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per stage command")
    ap.add_argument("--out", type=Path, default=DOCS, help="folder of scaling.jsonl/.png and benchmarks.md")
    ap.add_argument("--keep", action="store_true", help="keep the stage outputs (printed at the end)")
    ap.add_argument("--render", action="store_true",
                    help="run nothing: rewrite the section and the plot from the records in --out")
    args = ap.parse_args()
    if args.render:
        recs = [json.loads(x) for x in (args.out / "scaling.jsonl").read_text().splitlines() if x.strip()]
        write_section(args.out / "benchmarks.md", markdown(recs))
        plot(recs, args.out / "scaling.png")
        return 0
    scales = [0.25, 1.0] if args.quick else [float(s) for s in args.scales.split(",") if s]
    stages = [s for s in args.stages.split(",") if s]
    peers = list(PEER_STAGES) if args.peers == "all" else [s for s in args.peers.split(",") if s]
    unknown = sorted(set(stages) - set(STAGES)) + sorted(f"peer {p}" for p in set(peers) - set(PEER_STAGES))
    if unknown or not scales:
        ap.error(f"unknown stage(s) {', '.join(unknown)}; known: {', '.join(STAGES)}; peers: "
                 f"{', '.join(PEER_STAGES)}" if unknown else "no scales")
    if "mix" in stages and "tag" not in stages:
        ap.error("mix reads the tag stage's attributes: run tag too")
    env = {**os.environ, **harness.OFFLINE_ENV}
    root = Path(tempfile.mkdtemp(prefix="bench-data-scaling-"))
    records: list[dict[str, Any]] = []
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    try:
        for scale in scales:
            corpus = synth_corpus(scale, args.seed, env)
            n_docs = int(json.loads((corpus / "synth.json").read_text())["documents"])
            ctx = Ctx(corpus=corpus, work=root / f"{scale:g}x", processes=args.processes,
                      bloom_items=round(args.bloom_items_per_scale * scale), eval_file=args.eval_file)
            ctx.work.mkdir(parents=True)
            for name in stages:
                argv = [sys.executable, "-m", "dolma_tools.cli", *STAGES[name](ctx)]
                log = ctx.work / f"{name}.log"
                m = measure(argv, log=log, env=env, cwd=harness.REPO, timeout=args.timeout)
                if m.rc != 0:
                    harness.log(log.read_text()[-3000:])
                    raise SystemExit(f"stage {name} at {scale:g}x failed (exit {m.rc}); log above")
                rec = {"stage": name, "scale": scale, "seed": args.seed, "documents": n_docs,
                       "processes": args.processes, "seconds": round(m.seconds, 3),
                       "docs_per_s": n_docs / m.seconds, "peak_worker_mib": m.peak_worker_bytes / 2**20,
                       "peak_tree_mib": m.peak_tree_bytes / 2**20, "processes_seen": m.processes_seen,
                       "peak_worker_anon_mib": m.peak_worker_anon_bytes / 2**20,
                       "bloom_items": ctx.bloom_items if name == "dedupe" else None,
                       "filter_mib": filter_mib(ctx.bloom_items) if name == "dedupe" else None, "measured": stamp,
                       "cpu_count": os.cpu_count(), "load_1m": os.getloadavg()[0]}
                records.append(rec)
                save_records(args.out, [rec])  # each stage as it ends: a long run that stops keeps what it measured
                harness.log(f"{scale:g}x {name:>13}: {n_docs:,} docs in {m.seconds:.1f} s = "
                            f"{rec['docs_per_s']:,.0f} docs/s; peak RSS per worker {rec['peak_worker_mib']:.0f} MiB "
                            f"(anonymous {rec['peak_worker_anon_mib']:.0f} MiB; tree {rec['peak_tree_mib']:.0f} MiB, "
                            f"{m.processes_seen} processes)")
            for name in peers:
                records.append(run_peer(PEER_STAGES[name], ctx, scale, n_docs, args, env, stamp))
            if not args.keep:
                shutil.rmtree(ctx.work, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    jsonl = args.out / "scaling.jsonl"
    allrecs = save_records(args.out, [])
    write_section(args.out / "benchmarks.md", markdown(allrecs))
    plot(allrecs, args.out / "scaling.png")
    checks = bound_check(ours(allrecs))
    for name, c in checks.items():
        harness.log(f"bound {name:>13}: peak per worker {c['largest']:g}x / {c['smallest']:g}x = {c['ratio']:.2f} "
                    f"({'within' if c['within'] else 'OVER'} {BOUND})")
    harness.log(f"wrote {jsonl}, {args.out / 'scaling.png'} and the scaling section of "
                f"{args.out / 'benchmarks.md'}" + (f"; outputs kept in {root}" if args.keep else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
