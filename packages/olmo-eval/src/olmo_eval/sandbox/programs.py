"""Run model-written programs so that they cannot harm the evaluation or the machine, and cannot
pass without running their tests to the end.

Isolation is bubblewrap's (``bwrap.py`` lists what the sandbox sees) plus two seccomp filters
(``seccomp.py``). Limits for the whole sandbox come from a delegated cgroup v2 where there is one
(``cgroups.py``: ``memory.max`` for all processes and tmpfs together, ``pids.max``); elsewhere from
resource limits set by the boot script: ``RLIMIT_NPROC`` (counted per uid *inside the sandbox's
own user namespace*, so it binds only the sandbox's processes and threads), ``RLIMIT_AS`` of
``memory_bytes / nproc`` per process (so all of them together stay under ``memory_bytes``), plus
the two tmpfs caps, ``RLIMIT_FSIZE`` and ``RLIMIT_CPU``. A wall-clock timeout kills bubblewrap,
and with it (``--die-with-parent``, pid namespace) every process of the sandbox.

As root, bubblewrap runs under an unprivileged uid of its own per concurrent slot (the kernel
never applies ``RLIMIT_NPROC`` to uid 0), so root and unprivileged users get the same sandbox.

The verdict is a random nonce that the boot script writes to a pipe only the harness reads, after
the program's code (its tests included) ran to its end: an early ``os._exit(0)`` fails. What a
nonce cannot stop: a program that searches its own interpreter's memory for it (frames, ``gc``).
That is cheating at the verdict, not an escape; nothing leaves the sandbox either way.

Fails closed: :func:`run_program` raises :class:`SandboxError` (with how to fix it) when bubblewrap
is missing or cannot make namespaces. ``SandboxConfig(unsafe_no_sandbox=True)`` (the CLI's
``--unsafe-no-sandbox``) runs programs with resource limits only, and says so loudly each time.
"""

from __future__ import annotations

import atexit
import enum
import fcntl
import itertools
import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from olmo_eval.sandbox import bwrap as bw
from olmo_eval.sandbox import cgroups, seccomp

log = logging.getLogger("olmo_eval.sandbox")

_BOOT = Path(__file__).with_name("_sandbox_boot.py")
_STARTED = b"S"
_FAILED, _MEMORY, _SETUP_FAILED = 1, 3, 70
#: uids handed to bubblewrap when we are root: far above any login range, one per slot and per
#: evaluator process so that concurrent runs never share a process budget.
_UID_BASE = 1_500_000_000
HOW_TO_FIX = ("Install bubblewrap (Debian/Ubuntu: apt install bubblewrap; Fedora: dnf install bubblewrap) "
              "and allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and "
              "user.max_user_namespaces > 0; Ubuntu 24.04+: kernel.apparmor_restrict_unprivileged_userns=0). "
              "To run model-written code without any isolation, pass --unsafe-no-sandbox "
              "(SandboxConfig(unsafe_no_sandbox=True)): never on a machine you care about.")


class Outcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CRASHED = "crashed"


class SandboxError(PermissionError):
    """The sandbox could not be set up; no program was run. A PermissionError, so that every
    command prints it as an error message, not a traceback (see ``olmo_eval.cli``)."""


@dataclass(frozen=True)
class SandboxConfig:
    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    #: memory of the whole sandbox: memory.max with a cgroup, else RLIMIT_AS of memory_bytes/nproc per process
    memory_bytes: int = 2 << 30
    #: processes and threads of the whole sandbox
    nproc: int = 16
    #: largest file a program may write (RLIMIT_FSIZE; stdout and stderr too)
    file_bytes: int = 16 << 20
    #: size caps of the writable tmpfs /tmp and /dev/shm
    tmp_bytes: int = 64 << 20
    shm_bytes: int = 8 << 20
    workers: int = 2
    max_output_bytes: int = 16_384
    #: "auto" (a delegated cgroup v2 if there is one), "off", or a cgroup v2 directory
    cgroup: str = "auto"
    #: bubblewrap's path (default: found on PATH)
    bwrap: str | None = None
    #: run without any isolation (resource limits only); loudly logged, never the default
    unsafe_no_sandbox: bool = False

    def per_process_memory(self, with_cgroup: bool) -> int:
        return self.memory_bytes if with_cgroup else max(64 << 20, self.memory_bytes // self.nproc)


@dataclass
class ProgramResult:
    outcome: Outcome
    returncode: int
    seconds: float
    stdout: str = ""
    stderr: str = ""


_slot_lock = threading.Lock()
_free_slots: list[int] = []
_slot_counter = itertools.count()
_checked: dict[tuple, str | None] = {}
_check_lock = threading.Lock()
_mountpoint: list[str] = []


def _acquire_slot() -> int:
    with _slot_lock:
        return _free_slots.pop() if _free_slots else next(_slot_counter)


def _release_slot(slot: int) -> None:
    with _slot_lock:
        _free_slots.append(slot)


def _sandbox_uid(slot: int) -> int:
    return _UID_BASE + (os.getpid() % 100_000) * 64 + slot


def _uid_process_count(uid: int) -> int:
    """Live processes of ``uid`` (zombies hold nothing; the host's init reaps them in its own time)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid != uid:
                    continue
                with open(f"/proc/{entry}/stat", "rb") as fh:
                    state = fh.read().rsplit(b")", 1)[1].split()[0]
                if state != b"Z":
                    count += 1
            except (OSError, IndexError):
                pass
    return count


def _wait_uid_clear(uid: int, timeout: float = 5.0) -> None:
    """A slot's uid is reused only once the kernel has reaped its processes (namespace teardown is
    asynchronous), so the next program starts with the whole process budget."""
    deadline = time.monotonic() + timeout
    while _uid_process_count(uid) and time.monotonic() < deadline:
        time.sleep(0.02)


def _prefix_mountpoint() -> str:
    """An empty directory any uid can traverse, onto which root's launcher binds the interpreter."""
    with _slot_lock:
        if not _mountpoint:
            top = tempfile.mkdtemp(prefix="olmo-eval-sandbox-python-")
            os.chmod(top, 0o755)
            os.mkdir(os.path.join(top, "prefix"), 0o755)
            _mountpoint.append(os.path.join(top, "prefix"))
            atexit.register(shutil.rmtree, top, True)
        return _mountpoint[0]


def _memfd(name: str, data: bytes) -> int:
    fd = os.memfd_create(name, 0)
    os.write(fd, data)
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_tail(fh, limit: int) -> str:
    fh.seek(0)
    return fh.read(limit).decode("utf-8", errors="replace")


def _rlimits(config: SandboxConfig, with_cgroup: bool, sandboxed: bool) -> dict[str, int]:
    limits = {"RLIMIT_CPU": int(config.cpu_seconds), "RLIMIT_AS": config.per_process_memory(with_cgroup),
              "RLIMIT_FSIZE": int(config.file_bytes), "RLIMIT_CORE": 0, "RLIMIT_NOFILE": 256}
    if sandboxed:
        # counted in the sandbox's own user namespace: only its processes (unsandboxed, it would be
        # every process of the user's uid)
        limits["RLIMIT_NPROC"] = int(config.nproc)
    return limits


def _classify(timed_out: bool, code: int, result: bytes, nonce: bytes) -> Outcome:
    if timed_out or code in (128 + signal.SIGXCPU, -signal.SIGXCPU):
        return Outcome.TIMED_OUT
    if code == 0 and result == _STARTED + nonce:
        return Outcome.PASSED
    if code in (_FAILED, 0):
        # exit status 0 without the nonce: the program left before its tests ended
        return Outcome.FAILED
    return Outcome.CRASHED


def _run(source: str, config: SandboxConfig) -> ProgramResult:
    sandboxed = not config.unsafe_no_sandbox
    interp = bw.Interpreter.current()
    is_root = os.geteuid() == 0
    slot = _acquire_slot()
    nonce = secrets.token_hex(32).encode()
    fds: dict[str, int] = {}
    cgroup = None
    scratch = None
    uid = None
    try:
        nonce_r, nonce_w = os.pipe()
        fds["nonce_r"] = nonce_r
        os.write(nonce_w, nonce)
        os.close(nonce_w)
        result_r, result_w = os.pipe()
        fds["result_r"], fds["result_w"] = result_r, result_w
        base = cgroups.find_delegated(config.cgroup) if sandboxed else None
        if base is not None:
            cgroup = cgroups.SandboxCgroup(base, config.memory_bytes + config.tmp_bytes + config.shm_bytes,
                                           config.nproc + 2)
        boot_cfg = {"result_fd": result_w, "nonce_fd": nonce_r,
                    "rlimits": _rlimits(config, cgroup is not None, sandboxed)}
        if sandboxed:
            bwrap = bw.find_bwrap(config.bwrap)
            if bwrap is None:
                raise SandboxError(f"bubblewrap (bwrap) not found{' at ' + config.bwrap if config.bwrap else ''}. "
                                   + HOW_TO_FIX)
            fds["boot"] = _memfd("boot", _BOOT.read_bytes())
            fds["program"] = _memfd("program", source.encode("utf-8"))
            if seccomp.supported():
                fds["seccomp"] = _memfd("seccomp", seccomp.base_filter())
                fds["no_exec"] = _memfd("no_exec", seccomp.no_exec_filter())
                boot_cfg["no_exec_filter"] = bw.NO_EXEC_FILTER
            boot_cfg["program"] = bw.PROGRAM
            need_bind = is_root and not interp.under_usr() and not interp.visible_to_others()
            mountpoint = _prefix_mountpoint() if need_bind else ""
            argv = bw.bwrap_argv(bwrap, interp, fds, mountpoint or interp.prefix, tmp_bytes=config.tmp_bytes,
                                 shm_bytes=config.shm_bytes, boot_config=json.dumps(boot_cfg))
            uid = _sandbox_uid(slot) if is_root else None
            argv = bw.launcher(argv, cgroup_procs=cgroup.procs if cgroup else "", prefix=interp.prefix,
                               mountpoint=mountpoint, uid=uid)
            cwd = "/"
        else:
            scratch = Path(tempfile.mkdtemp(prefix="olmo-eval-unsafe-"))
            (scratch / "program.py").write_text(source, encoding="utf-8")
            boot_cfg["program"] = str(scratch / "program.py")
            argv = [interp.executable, "-I", "-S", str(_BOOT), json.dumps(boot_cfg)]
            cwd = str(scratch)
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        if not sandboxed:
            env.update({"HOME": str(scratch), "TMPDIR": str(scratch)})
        with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
            start = time.monotonic()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=env, cwd=cwd,
                                    start_new_session=True, close_fds=True, pass_fds=tuple(v for k, v in fds.items() if k != "result_r"))
            for key in ("result_w", "nonce_r", "boot", "program", "seccomp", "no_exec"):
                if key in fds:
                    os.close(fds.pop(key))
            timed_out = False
            try:
                proc.wait(timeout=config.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                # always: bubblewrap's group dies; the sandbox follows (--die-with-parent, pid namespace)
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                proc.wait()
            seconds = time.monotonic() - start
            fcntl.fcntl(result_r, fcntl.F_SETFL, os.O_NONBLOCK)
            try:
                result = os.read(result_r, 4096)
            except BlockingIOError:
                result = b""
            stdout = _read_tail(out, config.max_output_bytes)
            stderr = _read_tail(err, config.max_output_bytes)
        code = proc.returncode
        if not result.startswith(_STARTED) and not timed_out:
            raise SandboxError(f"the sandbox did not start (exit status {code}): {stderr.strip()[-2000:]}\n"
                               + HOW_TO_FIX)
        if code == _SETUP_FAILED and "sandbox setup failed" in stderr:
            raise SandboxError(stderr.strip()[-2000:])
        return ProgramResult(_classify(timed_out, code, result, nonce), code, seconds, stdout, stderr)
    finally:
        for fd in fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        if cgroup is not None:
            cgroup.remove()
        if uid is not None:
            _wait_uid_clear(uid)
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
        _release_slot(slot)


def check_sandbox(config: SandboxConfig | None = None) -> None:
    """Raises :class:`SandboxError` unless a trivial program passes in the sandbox (once per
    bubblewrap path and uid; the answer is cached)."""
    config = config or SandboxConfig()
    if config.unsafe_no_sandbox:
        return
    key = (bw.find_bwrap(config.bwrap), os.geteuid(), config.cgroup)
    with _check_lock:
        if key not in _checked:
            probe = SandboxConfig(wall_seconds=30, cpu_seconds=10, bwrap=config.bwrap, cgroup=config.cgroup)
            try:
                result = _run("assert sum(range(10)) == 45\n", probe)
                _checked[key] = None if result.outcome == Outcome.PASSED else (
                    f"the sandbox's self-test ended {result.outcome.value}: {result.stderr.strip()[-2000:]}\n"
                    + HOW_TO_FIX)
            except SandboxError as exc:
                _checked[key] = str(exc)
        error = _checked[key]
    if error:
        raise SandboxError(error)


def _warn_unsafe() -> None:
    message = ("UNSAFE: running model-written code WITHOUT a sandbox (--unsafe-no-sandbox): it can read "
               "your files and environment, use the network and start processes as you")
    log.warning(message)
    print(f"olmo-eval: {message}", file=sys.stderr, flush=True)


def run_program(source: str, config: SandboxConfig | None = None) -> ProgramResult:
    """Run one Python program in the sandbox and classify how it ended."""
    config = config or SandboxConfig()
    if config.unsafe_no_sandbox:
        _warn_unsafe()
    check_sandbox(config)
    return _run(source, config)


def run_programs(sources: Sequence[str], config: SandboxConfig | None = None) -> list[ProgramResult]:
    """Run programs concurrently (``config.workers`` at a time); results in input order."""
    config = config or SandboxConfig()
    if config.unsafe_no_sandbox:
        _warn_unsafe()
    check_sandbox(config)
    with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        return list(pool.map(lambda s: _run(s, config), sources))
