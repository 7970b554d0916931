"""Run model-written programs without letting them harm the evaluation or the machine.

Each program runs in its own process tree started by ``_sandbox_boot.py`` (read it for the order
of the steps). What we chose, and why:

- **Separate process, clean environment**: ``python -I -S`` (no site-packages, no ``PYTHON*``
  variables) with an environment of only ``PATH``, ``HOME``/``TMPDIR`` (the temp dir) and ``LANG``.
- **Wall-clock timeout**: the parent waits, then SIGKILLs boot's process group; the namespace's
  PID 1 dies with boot (``PR_SET_PDEATHSIG``) and the kernel kills everything left in the pid
  namespace, so nothing outlives a run (double forks, ``setsid`` included).
- **CPU timeout**: ``RLIMIT_CPU`` (SIGXCPU, then SIGKILL one second later).
- **Memory**: ``RLIMIT_AS``; a huge allocation raises ``MemoryError`` (counted as crashed).
- **Process count**: ``RLIMIT_NPROC`` does not bind root (``CAP_SYS_RESOURCE`` bypasses it), so as
  root the program runs under an unprivileged uid of its own (one per concurrent slot, outside the
  range real users get), where ``RLIMIT_NPROC`` does bind and counts only the sandbox's processes.
  A fork bomb gets ``nproc`` processes, then ``fork`` fails; the wall clock ends it. Not root: an
  unprivileged user namespace where the kernel allows one, with the limit set on top of the
  processes the user already runs.
- **No network**: a new network namespace (``CLONE_NEWNET``: only a down loopback) plus a
  Python audit hook that refuses socket creation (clearer errors, and the barrier where no
  namespace can be made).
- **Only the temp dir is writable**: a private mount namespace in which every mount point is
  re-mounted read-only (a per-mount flag: the host's mounts are untouched) except the fresh temp
  dir, bound onto itself; the unprivileged uid also lacks write permission on root's files.
- **Parent's environment unreadable**: the clean environment, and ``/proc/<pid>/environ`` of the
  evaluator is readable only by its uid, which the program no longer has.

Fails closed: if a required isolation step cannot be set up, :class:`SandboxError` is raised and
the program never runs unconfined.
"""

from __future__ import annotations

import enum
import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

_BOOT = Path(__file__).with_name("_sandbox_boot.py")
_SETUP_FAILED = 70
#: uids handed to sandboxed programs when we are root: far above any login range, one per slot and
#: per evaluator process so that concurrent runs never share an RLIMIT_NPROC budget.
_UID_BASE = 1_500_000_000


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CRASHED = "crashed"


class SandboxError(RuntimeError):
    """The sandbox itself could not be set up; no program was run unconfined."""


@dataclass(frozen=True)
class SandboxConfig:
    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_bytes: int = 1 << 30
    file_bytes: int = 16 << 20
    nproc: int = 32
    workers: int = 2
    #: refuse to run when namespaces cannot be made (always true as root, where they can)
    require_namespaces: bool = False
    #: Python audit hook refusing sockets, ctypes and writes outside the temp dir
    python_guard: bool = True
    max_output_bytes: int = 16_384


@dataclass
class ProgramResult:
    outcome: Outcome
    returncode: int
    seconds: float
    stdout: str = ""
    stderr: str = ""


@dataclass
class OutcomeCounts:
    counts: Counter = field(default_factory=Counter)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.value] += 1

    def as_dict(self) -> dict[str, int]:
        return {o.value: int(self.counts.get(o.value, 0)) for o in Outcome}


_slot_lock = threading.Lock()
_free_slots: list[int] = []
_slot_counter = itertools.count()


def _acquire_slot() -> int:
    with _slot_lock:
        return _free_slots.pop() if _free_slots else next(_slot_counter)


def _release_slot(slot: int) -> None:
    with _slot_lock:
        _free_slots.append(slot)


def _sandbox_uid(slot: int) -> int:
    return _UID_BASE + (os.getpid() % 100_000) * 64 + slot


def _user_process_count(uid: int) -> int:
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    count += 1
            except OSError:
                pass
    return count


def _world_traversable(path: Path) -> bool:
    path = path.resolve()
    return all(os.stat(p).st_mode & 0o001 for p in [path, *path.parents])


def _read_tail(path: Path, limit: int) -> str:
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit)
    except OSError:
        return ""
    return data.decode("utf-8", errors="replace")


def run_program(source: str, config: SandboxConfig | None = None) -> ProgramResult:
    """Run one Python program in the sandbox and classify how it ended."""
    config = config or SandboxConfig()
    is_root = os.geteuid() == 0
    slot = _acquire_slot()
    scratch = Path(tempfile.mkdtemp(prefix="olmo-eval-sandbox-"))
    try:
        work = scratch / "work"
        work.mkdir()
        program = work / "program.py"
        program.write_text(source, encoding="utf-8")
        uid = gid = None
        nproc = config.nproc
        if is_root:
            uid = gid = _sandbox_uid(slot)
            os.chown(work, uid, gid)
            os.chown(program, uid, gid)
            os.chmod(scratch, 0o711)
        else:
            nproc += _user_process_count(os.getuid())
        os.chmod(work, 0o700)
        tmp = str(work.resolve())
        stdlib_bind = None
        if is_root and not _world_traversable(Path(sys.base_prefix)):
            target = scratch / "python"
            target.mkdir()
            stdlib_bind = {"source": str(Path(sys.base_prefix).resolve()), "target": str(target.resolve())}
        cfg = {
            "program": str(program.resolve()), "tmp": tmp, "uid": uid, "gid": gid,
            "cpu_seconds": config.cpu_seconds, "memory_bytes": config.memory_bytes,
            "file_bytes": config.file_bytes, "nproc": nproc, "python_guard": config.python_guard,
            "require_namespaces": bool(config.require_namespaces or is_root), "stdlib_bind": stdlib_bind,
            "env": {"PATH": "/usr/bin:/bin", "HOME": tmp, "TMPDIR": tmp, "LANG": "C.UTF-8",
                    "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0"},
        }
        out_path, err_path = scratch / "stdout", scratch / "stderr"
        start = time.monotonic()
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", str(_BOOT), json.dumps(cfg)], stdin=subprocess.DEVNULL,
                stdout=out, stderr=err, env=cfg["env"], cwd=tmp, start_new_session=True, close_fds=True)
            timed_out = False
            try:
                proc.wait(timeout=config.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                # Always: boot's group dies, PID 1 of the namespace follows via PDEATHSIG.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait()
        seconds = time.monotonic() - start
        code = proc.returncode
        stdout = _read_tail(out_path, config.max_output_bytes)
        stderr = _read_tail(err_path, config.max_output_bytes)
        if code == _SETUP_FAILED and "sandbox setup failed" in stderr:
            raise SandboxError(stderr.strip())
        if timed_out or code in (128 + signal.SIGXCPU, -signal.SIGXCPU):
            outcome = Outcome.TIMED_OUT
        elif code == 0:
            outcome = Outcome.PASSED
        elif code == 1:
            outcome = Outcome.FAILED
        else:
            outcome = Outcome.CRASHED
        if is_root:
            _wait_uid_clear(uid)
        return ProgramResult(outcome, code, seconds, stdout, stderr)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        _release_slot(slot)


def _wait_uid_clear(uid: int, timeout: float = 5.0) -> None:
    """A slot's uid is reused only once the kernel has reaped its processes (namespace teardown is
    asynchronous), so the next program starts with the whole process budget."""
    deadline = time.monotonic() + timeout
    while _user_process_count(uid) and time.monotonic() < deadline:
        time.sleep(0.02)


def run_programs(sources: Sequence[str], config: SandboxConfig | None = None) -> list[ProgramResult]:
    """Run programs concurrently (``config.workers`` at a time); results in input order."""
    config = config or SandboxConfig()
    with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        return list(pool.map(lambda s: run_program(s, config), sources))
