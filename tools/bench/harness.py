"""The one harness every benchmark under ``tools/bench/`` runs through.

A benchmark builds two :class:`Side` objects, ours and the peer's, and hands them to :func:`compare`:

* each side gets one warm-up round, then ``rounds`` timed rounds alternate (ours, theirs, ours, ...) so
  both see the same machine load;
* a round reports its work (``units``, e.g. tokens) and an ``output`` (tokens generated, scores,
  duplicates, attribute values, losses); the benchmark's ``check`` must accept every pair of outputs,
  or the comparison raises :class:`WorkMismatch` and no ratio is printed (the process exits 2);
* the ratio is the median of the per-round ratios ``ours_rate / theirs_rate`` (above 1: we are faster),
  with min and max beside it;
* peak memory is measured for both: the summed RSS of the side's process tree (every side runs in its
  own process, so one side's allocations never count against the other), or CUDA max allocated when the
  side says it ran on a GPU.

Peers live in their own cached virtual environments, every package pinned with ``==``
(:class:`PeerEnv`), never in the workspace. A benchmark ends with :func:`finish`, whose last line is::

    RESULT NAME ratio=R peer=PKG==VERSION runs=N ours=X theirs=Y unit=U mem_ratio=M work=identical

When ``OLMO_BENCH_RESULTS`` names a file, every comparison is also appended to it as one JSON line
(``tools/bench/run_all.py`` builds ``docs/benchmarks.md`` from those).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.metadata
import json
import os
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SHARED = REPO.parent / "shared" / "data"
WORKER = HERE / "_worker.py"
PEER_ROOT = Path(os.environ.get("OLMO_BENCH_PEERS", Path.home() / ".cache" / "olmo-stack" / "bench-peers"))
RESULTS_ENV = "OLMO_BENCH_RESULTS"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1",
               "WANDB_MODE": "offline", "TOKENIZERS_PARALLELISM": "false", "PYTHONWARNINGS": "ignore"}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class WorkMismatch(RuntimeError):
    """The two sides did not do the same work; no ratio may be reported."""


# --------------------------------------------------------------------------------------------------
# Peer environments


def workspace_pin(package: str) -> str:
    """``package==VERSION`` as installed in this (the workspace's) interpreter, read from metadata only
    (no import), so a peer can run on exactly our torch, say."""
    return f"{package}=={importlib.metadata.version(package).split('+')[0]}"


@dataclass(frozen=True)
class PeerEnv:
    """A cached virtual environment holding one peer, every requirement pinned with ``==``.

    ``packages[0]`` is the peer itself (what the RESULT line names). The environment lives under
    ``$OLMO_BENCH_PEERS`` (default ``~/.cache/olmo-stack/bench-peers``) in a folder named by a hash of
    the requirements, is marked complete only after the install succeeded (a killed install is never
    mistaken for a finished one), and is guarded by a file lock so concurrent benchmarks share it.
    """

    packages: tuple[str, ...]
    python_version: str = "3.11"

    def __post_init__(self) -> None:
        for p in self.packages:
            name = p.split("[")[0].split("==")[0]
            if "==" not in p or any(c in p.split("==", 1)[1] for c in "<>=,*"):
                raise ValueError(f"peer requirement {p!r} must pin one exact version (NAME==VERSION)")
            if not name:
                raise ValueError(f"peer requirement {p!r} has no package name")

    @property
    def label(self) -> str:
        name, version = self.packages[0].split("==")
        return f"{name.split('[')[0]}=={version}"

    @property
    def path(self) -> Path:
        digest = hashlib.sha256(json.dumps([self.python_version, *self.packages]).encode()).hexdigest()[:12]
        return PEER_ROOT / f"{self.label.split('==')[0]}-{digest}"

    @property
    def python(self) -> Path:
        return self.ensure() / "bin" / "python"

    def exe(self, name: str) -> Path:
        return self.ensure() / "bin" / name

    def ensure(self) -> Path:
        final = self.path
        if (final / ".complete").exists():
            return final
        PEER_ROOT.mkdir(parents=True, exist_ok=True)
        with open(PEER_ROOT / f"{final.name}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if (final / ".complete").exists():
                return final
            # venvs hard-code their own path, so the environment is built in place; the marker written
            # last is what says it is complete, and a half-built one is removed and rebuilt
            shutil.rmtree(final, ignore_errors=True)
            log(f"installing peer {' '.join(self.packages)} into {final} ...")
            subprocess.run(["uv", "venv", "-q", "--python", self.python_version, str(final)], check=True)
            subprocess.run(["uv", "pip", "install", "-q", "--python", str(final / "bin" / "python"), *self.packages],
                           check=True)
            (final / ".complete").write_text(json.dumps(list(self.packages)) + "\n")
        return final


# --------------------------------------------------------------------------------------------------
# Memory of a process tree


def tree_rss(pid: int) -> int:
    """Summed resident memory (bytes) of a process and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    page = os.sysconf("SC_PAGE_SIZE")
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
            rss[int(entry)] = int(fields[21]) * page
        except (OSError, IndexError, ValueError):
            continue
    total, stack = 0, [pid]
    while stack:
        p = stack.pop()
        total += rss.get(p, 0)
        stack.extend(children.get(p, []))
    return total


class PeakRSS:
    """Polls the RSS of a process tree in a thread while the ``with`` block runs."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss(self.pid))
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRSS:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss(self.pid))


# --------------------------------------------------------------------------------------------------
# Sides


@dataclass
class Round:
    seconds: float
    units: float  # work done in the round, in the comparison's unit (tokens, documents, ...)
    output: Any = None  # what the work check compares
    peak_bytes: int = 0
    cpu_seconds: float | None = None
    memory_kind: str = "rss"  # "rss" (process tree) or "cuda" (max allocated)

    @property
    def rate(self) -> float:
        return self.units / self.seconds


class Side:
    """One side of a comparison. ``start`` once, ``round`` per run, ``close`` at the end."""

    label: str = "?"

    def start(self) -> None:  # noqa: B027 - optional hook
        pass

    def round(self) -> Round:
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - optional hook
        pass


class Command(Side):
    """A side whose round is one run of a command (start-up included), as a user would run it.

    ``before()`` resets state (e.g. removes the previous round's outputs); ``collect()`` returns
    ``(units, output)`` from what the command wrote.
    """

    def __init__(self, label: str, argv: Sequence[str], collect: Callable[[], tuple[float, Any]],
                 before: Callable[[], None] | None = None, env: dict[str, str] | None = None,
                 cwd: str | Path | None = None) -> None:
        self.label, self.argv, self.collect, self.before = label, [str(a) for a in argv], collect, before
        self.env = {**os.environ, **OFFLINE_ENV, **(env or {})}
        self.cwd = cwd

    def round(self) -> Round:
        if self.before:
            self.before()
        t0 = time.perf_counter()
        proc = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        with PeakRSS(proc.pid) as mem:
            out, err = proc.communicate()
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            tail = (out.decode(errors="replace") + err.decode(errors="replace"))[-4000:]
            raise RuntimeError(f"{self.label}: {' '.join(self.argv[:3])} ... exited {proc.returncode}:\n{tail}")
        units, output = self.collect()
        return Round(seconds=seconds, units=units, output=output, peak_bytes=mem.peak)


class Worker(Side):
    """A side that lives in its own long-running Python process (``_worker.py``), so that each side's
    memory is its own and each can run in its own interpreter (ours: the workspace's; the peer's: its
    pinned environment).

    ``script`` is a file defining ``setup(config: dict) -> Callable[[], dict]``; the callable runs one
    round and returns ``{"units": float, "output": ...}`` (JSON-able), optionally ``"device": "cuda"``.
    Timing (wall and CPU, with CUDA synchronisation) happens in the worker around that call only. Peak
    memory is the larger of the polled RSS of the worker's process tree and the worker's own
    ``VmHWM`` (exact, so short spikes that polling misses still count).
    """

    def __init__(self, label: str, script: str | Path, config: dict[str, Any], python: str | Path | None = None,
                 env: dict[str, str] | None = None, threads: int | None = None) -> None:
        self.label, self.script, self.config = label, Path(script), config
        self.python = str(python or sys.executable)
        extra = {"OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)} if threads else {}
        self.env = {**os.environ, **OFFLINE_ENV, **extra, **(env or {})}
        self.env.pop("VIRTUAL_ENV", None)
        self.env["PYTHONPATH"] = os.pathsep.join([str(HERE), *filter(None, [self.env.get("PYTHONPATH")])]) \
            if self.python == sys.executable else str(HERE)
        self.proc: subprocess.Popen[str] | None = None
        self.setup_peak = 0

    def _call(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(request) + "\n")
        self.proc.stdin.flush()
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"{self.label}: worker {self.script.name} died (exit {self.proc.wait()}); "
                                   "its stderr is above")
            if line.startswith("@@BENCH "):
                reply = json.loads(line[len("@@BENCH "):])
                if "error" in reply:
                    raise RuntimeError(f"{self.label}: {self.script.name}: {reply['error']}")
                return reply

    def start(self) -> None:
        self.proc = subprocess.Popen([self.python, str(WORKER), str(self.script)], env=self.env, text=True,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1)
        with PeakRSS(self.proc.pid) as mem:
            self._call({"op": "setup", "config": self.config})
        self.setup_peak = mem.peak

    def round(self) -> Round:
        assert self.proc is not None, "start() first"
        with PeakRSS(self.proc.pid) as mem:
            reply = self._call({"op": "round"})
        cuda = reply.get("cuda_peak_bytes")
        return Round(seconds=reply["seconds"], units=float(reply["units"]), output=reply.get("output"),
                     peak_bytes=int(cuda) if cuda is not None else
                     max(mem.peak, self.setup_peak, int(reply.get("maxrss_bytes", 0))),
                     cpu_seconds=reply.get("cpu_seconds"), memory_kind="cuda" if cuda is not None else "rss")

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(Exception):
                self._call({"op": "exit"})
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None


# --------------------------------------------------------------------------------------------------
# The comparison


@dataclass
class Result:
    name: str
    variant: str  # "" for the headline figure, else e.g. "toy" or "peer defaults"
    work: str  # what both sides did, in words
    unit: str
    ours_label: str
    peer: str  # PKG==VERSION
    peer_setting: str  # the peer's configuration, in words
    runs: int
    ours: dict[str, float]  # min / median / max rate
    theirs: dict[str, float]
    ratio: dict[str, float]  # min / median / max of per-round ratios
    ours_peak_mib: float
    theirs_peak_mib: float
    memory_kind: str
    check: str  # what was checked and how close the outputs were
    primary: bool = True
    goal: float | None = None
    limits: str = ""  # one line on what limits the ratio
    cpu_ratio: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mem_ratio(self) -> float:
        return self.ours_peak_mib / self.theirs_peak_mib if self.theirs_peak_mib else float("nan")

    def result_line(self) -> str:
        return (f"RESULT {self.name} ratio={self.ratio['median']:.3f} peer={self.peer} runs={self.runs} "
                f"ours={self.ours['median']:.4g} theirs={self.theirs['median']:.4g} unit={self.unit} "
                f"mem_ratio={self.mem_ratio:.3f} work=identical")


def _spread(xs: list[float]) -> dict[str, float]:
    return {"min": min(xs), "median": statistics.median(xs), "max": max(xs)}


Check = Callable[[Any, Any], tuple[bool, str]]


def compare(name: str, ours: Side, theirs: Side, *, peer: str, unit: str, work: str, check: Check,
            rounds: int = 3, variant: str = "", peer_setting: str = "", goal: float | None = None,
            limits: str = "", primary: bool = True, extra: dict[str, Any] | None = None) -> Result:
    """Warm up both sides, run ``rounds`` alternating timed rounds, check every pair of outputs with
    ``check(ours_output, theirs_output) -> (same, description)``, and summarise.

    Raises :class:`WorkMismatch` (after closing both sides) when any pair differs.
    """
    if rounds < 3:
        raise ValueError("at least 3 timed rounds per side")
    title = f"{name}{f' [{variant}]' if variant else ''}"
    log(f"== {title}: {ours.label} vs {theirs.label} ({peer}{f', {peer_setting}' if peer_setting else ''})")
    log(f"   work: {work}")
    notes: list[str] = []
    try:
        for side in (ours, theirs):
            t0 = time.perf_counter()
            side.start()
            log(f"   {side.label}: ready in {time.perf_counter() - t0:.1f}s")
        warm = (ours.round(), theirs.round())
        log(f"   warm-up: ours {warm[0].rate:,.4g} {unit}, theirs {warm[1].rate:,.4g} {unit}")
        pairs = [warm]
        for r in range(rounds):
            a = ours.round()
            b = theirs.round()
            pairs.append((a, b))
            log(f"   round {r + 1}/{rounds}: ours {a.rate:,.4g} theirs {b.rate:,.4g} {unit}  "
                f"ratio {a.rate / b.rate:.3f}")
        for i, (a, b) in enumerate(pairs):
            same, note = check(a.output, b.output)
            if not same:
                raise WorkMismatch(f"{title}: {'warm-up' if i == 0 else f'round {i}'} outputs differ: {note}")
            notes.append(note)
    finally:
        for side in (ours, theirs):
            with contextlib.suppress(Exception):
                side.close()
    timed = pairs[1:]
    a_rates = [a.rate for a, _ in timed]
    b_rates = [b.rate for _, b in timed]
    ratios = [a.rate / b.rate for a, b in timed]
    cpu = [(b.cpu_seconds / b.units) / (a.cpu_seconds / a.units) for a, b in timed
           if a.cpu_seconds and b.cpu_seconds]
    kinds = {r.memory_kind for pair in pairs for r in pair}
    result = Result(
        name=name, variant=variant, work=work, unit=unit, ours_label=ours.label, peer=peer,
        peer_setting=peer_setting, runs=rounds, ours=_spread(a_rates), theirs=_spread(b_rates),
        ratio=_spread(ratios), ours_peak_mib=max(a.peak_bytes for a, _ in pairs) / 2**20,
        theirs_peak_mib=max(b.peak_bytes for _, b in pairs) / 2**20,
        memory_kind="cuda" if kinds == {"cuda"} else "rss", check=notes[-1], primary=primary, goal=goal,
        limits=limits, cpu_ratio=statistics.median(cpu) if cpu else None, extra=extra or {})
    log(f"   ours   {result.ours['median']:,.4g} {unit} (min {result.ours['min']:,.4g}, max "
        f"{result.ours['max']:,.4g}), peak {result.memory_kind} {result.ours_peak_mib:,.0f} MiB")
    log(f"   theirs {result.theirs['median']:,.4g} {unit} (min {result.theirs['min']:,.4g}, max "
        f"{result.theirs['max']:,.4g}), peak {result.memory_kind} {result.theirs_peak_mib:,.0f} MiB")
    log(f"   ratio {result.ratio['median']:.3f} (min {result.ratio['min']:.3f}, max {result.ratio['max']:.3f})"
        f"{f', CPU-time ratio {result.cpu_ratio:.3f}' if result.cpu_ratio else ''}, memory ratio "
        f"{result.mem_ratio:.3f}; work check: {result.check}")
    path = os.environ.get(RESULTS_ENV)
    if path:
        with open(path, "a") as f:
            f.write(json.dumps({**asdict(result), "mem_ratio": result.mem_ratio}) + "\n")
    return result


def finish(results: Sequence[Result]) -> int:
    """Print a one-line summary of every comparison, then the headline RESULT line last."""
    primary = [r for r in results if r.primary]
    if len(primary) != 1:
        raise ValueError(f"exactly one primary comparison expected, got {len(primary)}")
    for r in results:
        if not r.primary:
            print(f"also {r.name} [{r.variant}]: ratio={r.ratio['median']:.3f} ours={r.ours['median']:.4g} "
                  f"theirs={r.theirs['median']:.4g} {r.unit} mem_ratio={r.mem_ratio:.3f}")
    print(primary[0].result_line(), flush=True)
    return 0


def run(main: Callable[[], Sequence[Result]]) -> None:
    """Entry point for a benchmark: exit 2 with no RESULT line when the work differs."""
    try:
        results = main()
    except WorkMismatch as e:
        print(f"WORK CHECK FAILED: {e}", flush=True)
        print("no ratio reported: the two sides did not do the same work", flush=True)
        sys.exit(2)
    sys.exit(finish(results))


# --------------------------------------------------------------------------------------------------
# Checks


def check_equal(what: str) -> Check:
    """Outputs must be equal (lists, dicts, strings)."""
    def check(a: Any, b: Any) -> tuple[bool, str]:
        if a == b:
            return True, f"{what} identical"
        n = f" ({sum(x != y for x, y in zip(a, b))} of {len(a)} differ)" if isinstance(a, list) and \
            isinstance(b, list) and len(a) == len(b) else ""
        return False, f"{what} differ{n}"
    return check


def check_close(what: str, atol: float, rtol: float = 0.0) -> Check:
    """Outputs are equal-length lists of numbers, each within ``atol + rtol * |theirs|``."""
    def check(a: Sequence[float], b: Sequence[float]) -> tuple[bool, str]:
        if a is None or b is None or len(a) != len(b) or not len(a):
            return False, f"{what}: {len(a or [])} values vs {len(b or [])}"
        worst = max(abs(x - y) for x, y in zip(a, b))
        bad = [i for i, (x, y) in enumerate(zip(a, b)) if not abs(x - y) <= atol + rtol * abs(y)]
        if bad:
            return False, f"{what}: {len(bad)} of {len(a)} outside tolerance, max |diff| {worst:.3e}"
        return True, f"{what} within {atol:g}{f' + {rtol:g}*|x|' if rtol else ''} (max |diff| {worst:.2e})"
    return check
