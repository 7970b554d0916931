"""What a model's code might try, each contained: the outcome is classified, nothing escapes, and
nothing outlives the run. Tests without the Python audit guard show the kernel-level barriers."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path

import pytest

from olmo_eval.sandbox import Outcome, SandboxConfig, run_program, run_programs

KERNEL_ONLY = SandboxConfig(wall_seconds=5, cpu_seconds=3, python_guard=False)


def _sandbox_processes() -> list[int]:
    """Processes still running the sandbox (forks inherit the boot script's command line)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                state = Path(f"/proc/{entry}/stat").read_text().split(")")[-1].split()[0]
            except OSError:
                continue
            if b"_sandbox_boot.py" in cmdline and state != "Z":
                pids.append(int(entry))
    return pids


def _assert_nothing_left() -> None:
    deadline = time.monotonic() + 5
    while _sandbox_processes() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _sandbox_processes() == []


def test_outcomes_are_classified() -> None:
    results = run_programs(["import math\nassert math.sqrt(16) == 4\nprint('ok')",
                            "assert 1 == 2",
                            "raise ValueError('bad')",
                            "import sys\nsys.exit(0)",  # exiting early must not count as passing
                            "def f(:\n  pass",
                            "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)"], KERNEL_ONLY)
    assert [r.outcome for r in results] == [Outcome.PASSED, Outcome.FAILED, Outcome.FAILED, Outcome.FAILED,
                                            Outcome.FAILED, Outcome.CRASHED]
    assert results[0].stdout == "ok\n"
    assert "AssertionError" in results[1].stderr and "SyntaxError" in results[4].stderr


def test_infinite_loop_hits_cpu_limit() -> None:
    start = time.monotonic()
    result = run_program("while True:\n    pass", SandboxConfig(wall_seconds=6, cpu_seconds=1, python_guard=False))
    assert result.outcome == Outcome.TIMED_OUT
    assert time.monotonic() - start < 10


def test_sleeping_program_hits_wall_clock() -> None:
    result = run_program("import time\ntime.sleep(60)", SandboxConfig(wall_seconds=1.5, python_guard=False))
    assert result.outcome == Outcome.TIMED_OUT
    assert result.seconds < 5
    _assert_nothing_left()


def test_fork_bomb_is_bounded_and_killed() -> None:
    program = ("import os\ncount = 0\nwhile True:\n    try:\n        os.fork()\n        count += 1\n"
               "    except OSError:\n        pass\n")
    start = time.monotonic()
    result = run_program(program, SandboxConfig(wall_seconds=3, cpu_seconds=3, nproc=16, python_guard=False))
    assert result.outcome in (Outcome.TIMED_OUT, Outcome.CRASHED)
    assert time.monotonic() - start < 12
    _assert_nothing_left()


def test_detached_grandchild_does_not_outlive_the_run() -> None:
    program = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
               "        time.sleep(120)\n    os._exit(0)\nprint('parent done')\n")
    result = run_program(program, KERNEL_ONLY)
    assert result.outcome == Outcome.PASSED
    _assert_nothing_left()


def test_huge_allocation_is_refused() -> None:
    results = run_programs(["x = bytearray(64 * 2**30)",
                            "chunks = []\nwhile True:\n    chunks.append(bytearray(50_000_000))"],
                           SandboxConfig(wall_seconds=10, memory_bytes=512 << 20, python_guard=False))
    assert [r.outcome for r in results] == [Outcome.CRASHED, Outcome.CRASHED]
    assert all("MemoryError" in r.stderr for r in results)


def test_only_the_temp_dir_is_writable(tmp_path: Path) -> None:
    marker = f"olmo-eval-escape-{uuid.uuid4().hex}"
    targets = [Path("/tmp") / marker, tmp_path / marker, Path(__file__).parent / marker, Path("/dev/shm") / marker]
    for target in targets:
        result = run_program(f"open({str(target)!r}, 'w').write('x')", KERNEL_ONLY)
        assert result.outcome == Outcome.FAILED, target
        assert "Read-only file system" in result.stderr or "Permission denied" in result.stderr
        assert not target.exists()
    inside = run_program("open('notes.txt', 'w').write('kept')\nprint(open('notes.txt').read())", KERNEL_ONLY)
    assert inside.outcome == Outcome.PASSED and inside.stdout == "kept\n"


def test_no_network_even_to_the_parents_loopback() -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    try:
        program = (f"import socket\nfor addr in [('127.0.0.1', {port}), ('1.1.1.1', 80)]:\n"
                   "    try:\n        socket.create_connection(addr, timeout=2)\n        print('CONNECTED', addr)\n"
                   "    except OSError as exc:\n        print('refused', exc)\n")
        kernel = run_program(program, KERNEL_ONLY)
        assert kernel.outcome == Outcome.PASSED and "CONNECTED" not in kernel.stdout
        assert kernel.stdout.count("refused") == 2
        guarded = run_program(program, SandboxConfig(wall_seconds=5))
        assert "CONNECTED" not in guarded.stdout and "not allowed" in guarded.stdout
        server.settimeout(0.2)
        with pytest.raises(socket.timeout):
            server.accept()
    finally:
        server.close()


def test_parent_environment_is_unreadable(monkeypatch: pytest.MonkeyPatch) -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    monkeypatch.setenv("OLMO_EVAL_SANDBOX_SECRET", secret)
    program = ("import json, os\nprint(json.dumps(sorted(os.environ)))\nfound = []\nfor pid in os.listdir('/proc'):\n"
               "    if pid.isdigit():\n        try:\n"
               "            if b'OLMO_EVAL_SANDBOX_SECRET' in open(f'/proc/{pid}/environ', 'rb').read():\n"
               "                found.append(pid)\n        except OSError:\n            pass\n"
               "print('FOUND' if found else 'none found')\n")
    result = run_program(program, KERNEL_ONLY)
    assert result.outcome == Outcome.PASSED
    assert secret not in result.stdout and "OLMO_EVAL_SANDBOX_SECRET" not in result.stdout.split("\n")[0]
    assert "none found" in result.stdout
    # parsed as JSON, never eval'd: the output is the untrusted program's
    assert json.loads(result.stdout.split("\n")[0]) == sorted(["PATH", "HOME", "TMPDIR", "LANG", "PYTHONDONTWRITEBYTECODE",
                                                          "PYTHONHASHSEED"])
