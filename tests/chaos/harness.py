"""Kill a command at chosen and at seeded random moments, resume it, and compare what it left with an
uninterrupted run.

Two kinds of kill:
- *fault sites*: the command kills its own process group when it reaches a named point for the n-th
  time (``OLMO_STACK_FAULT=site:n``, read by ``dolma_tools.faults`` and ``olmo_core.faults``), so a
  test can land a kill inside a shard or checkpoint write on every run, not only when the timing is lucky;
- *random kills*: SIGKILL to the whole process group after a delay drawn from a seeded generator.

Every kill and its seed are recorded in the returned report and printed, so a failure replays."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path

FAULT_ENV = "OLMO_STACK_FAULT"


@dataclass
class Attempt:
    how: str  # "site:<name>:<n>" or "random:<delay>s"
    returncode: int
    killed: bool
    seconds: float


@dataclass
class ChaosReport:
    seed: int
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def kills(self) -> int:
        return sum(a.killed for a in self.attempts)

    def __str__(self) -> str:
        lines = [f"chaos seed={self.seed} kills={self.kills}"]
        lines += [f"  {a.how}: rc={a.returncode} killed={a.killed} {a.seconds:.2f}s" for a in self.attempts]
        return "\n".join(lines)


def _start(argv: Sequence[str], env: dict[str, str] | None, cwd: str | Path | None) -> subprocess.Popen:
    # A session of its own: the kill reaches the command's pool workers and torchrun children too.
    return subprocess.Popen(
        list(argv), env=env, cwd=cwd, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def _finish(proc: subprocess.Popen, timeout: float) -> tuple[int, str]:
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        raise AssertionError(f"{proc.args} ran past {timeout}s:\n{out[-4000:]}") from None
    return proc.returncode, out


def _was_killed(rc: int) -> bool:
    return rc == -signal.SIGKILL or rc == 128 + signal.SIGKILL


def timed_run(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | Path | None = None,
              timeout: float = 600.0) -> float:
    """Run to completion (it must succeed); the seconds it took, for choosing kill moments."""
    t0 = time.perf_counter()
    rc, out = _finish(_start(argv, env, cwd), timeout)
    assert rc == 0, f"{' '.join(map(str, argv))} failed (rc={rc}):\n{out[-4000:]}"
    return time.perf_counter() - t0


def chaos_run(
    argv: Sequence[str], *, seed: int, duration: float, random_kills: int = 3,
    fault_sites: Iterable[str] = (), env: dict[str, str] | None = None, cwd: str | Path | None = None,
    timeout: float = 600.0,
) -> ChaosReport:
    """Run ``argv`` through interruptions, then once more without any, which must succeed.

    ``fault_sites`` ("name" or "name:n") are tried first, one run each; then ``random_kills`` runs
    are SIGKILLed after a delay drawn uniformly from [0.05, 0.9] x ``duration`` (the time of an
    uninterrupted run, from :func:`timed_run`). A run that ends before its kill is recorded as not
    killed; one that fails without being killed fails the test (a resume must not crash)."""
    rng = random.Random(seed)
    base_env = dict(os.environ if env is None else env)
    base_env.pop(FAULT_ENV, None)
    report = ChaosReport(seed)

    def attempt(how: str, run_env: dict[str, str], delay: float | None) -> None:
        t0 = time.perf_counter()
        proc = _start(argv, run_env, cwd)
        if delay is not None:
            try:
                proc.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        rc, out = _finish(proc, timeout)
        killed = _was_killed(rc)
        report.attempts.append(Attempt(how, rc, killed, time.perf_counter() - t0))
        if not killed and rc != 0:
            raise AssertionError(f"{report}\n{how}: the command failed instead of resuming:\n{out[-4000:]}")

    for site in fault_sites:
        name, _, n = site.partition(":")
        attempt(f"site:{name}:{n or 1}", {**base_env, FAULT_ENV: f"{name}:{n or 1}"}, None)
    for _ in range(random_kills):
        delay = rng.uniform(0.05, 0.9) * duration
        attempt(f"random:{delay:.2f}s", base_env, delay)
    attempt("final", base_env, None)
    final = report.attempts[-1]
    assert final.returncode == 0 and not final.killed, str(report)
    print(report)
    return report


def tree_digest(root: str | Path, *, ignore: Sequence[str] = ()) -> dict[str, str]:
    """sha256 of every file under ``root`` by relative path, minus those matching an ``ignore`` glob
    (logs and manifests that record times)."""
    root = Path(root)
    out: dict[str, str] = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not any(fnmatch(rel, pat) for pat in ignore):
            out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def leftover_temporaries(root: str | Path) -> list[str]:
    """Files a killed writer left under a temporary name (``*.tmp-<pid>``, ``.*.tmp-*``)."""
    return sorted(p.relative_to(root).as_posix() for p in Path(root).rglob("*") if ".tmp-" in p.name)


@contextmanager
def tmpfs(mount: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``mount`` (made here), unmounted at the end: a small disk to fill.
    Mounting needs root; under ``CI=true`` a failed mount fails the test, elsewhere it skips it."""
    import pytest

    mount.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mount)], capture_output=True,
                          text=True)
    if proc.returncode != 0:
        why = f"cannot mount a {size} tmpfs at {mount} (needs root or CAP_SYS_ADMIN): {proc.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(why)
        pytest.skip(why)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
