"""How runs end (the verdict is the nonce after the tests, never the exit status), the limits of the
whole sandbox, and refusing to run without isolation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import olmo_eval
from olmo_eval.sandbox import Outcome, SandboxConfig, SandboxError, run_program, run_programs

FAST = SandboxConfig(wall_seconds=5, cpu_seconds=3, memory_bytes=1 << 30, workers=4)


def _boot_processes() -> list[int]:
    """Live processes still running a sandbox (their argv names the boot script)."""
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
                state = Path(f"/proc/{entry}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if b"/sandbox/boot.py" in cmdline and state != b"Z":
                pids.append(int(entry))
    return pids


def test_outcomes_come_from_the_nonce_not_the_exit_status() -> None:
    results = run_programs([
        "import math\nassert math.sqrt(16) == 4\nprint('ok')",
        "assert 1 == 2",
        "raise ValueError('bad')",
        "import sys\nsys.exit(0)\nassert 1 == 2",           # exiting early must not pass
        "import os\nos._exit(0)\nassert 1 == 2",            # nor leaving without the interpreter's cleanup
        "def f(:\n  pass",
        "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)",
        "import os\nos.close(1)\nprint('x')",               # a broken stdout at the end is a failure
    ], FAST)
    assert [r.outcome for r in results] == [Outcome.PASSED, Outcome.FAILED, Outcome.FAILED, Outcome.FAILED,
                                            Outcome.FAILED, Outcome.FAILED, Outcome.CRASHED, Outcome.FAILED]
    assert results[0].stdout == "ok\n"
    assert "AssertionError" in results[1].stderr and "SyntaxError" in results[5].stderr
    assert results[4].returncode == 0  # the status says success; the missing nonce says otherwise


def test_cpu_and_wall_clock_limits() -> None:
    spin, sleep = run_programs(["while True:\n    pass", "import time\ntime.sleep(60)"],
                               SandboxConfig(wall_seconds=2, cpu_seconds=1, workers=2))
    assert spin.outcome == Outcome.TIMED_OUT and sleep.outcome == Outcome.TIMED_OUT
    assert spin.seconds < 5 and sleep.seconds < 5
    assert _boot_processes() == []


def test_a_finished_program_leaves_nothing_running() -> None:
    program = ("import os, time\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
               "        time.sleep(120)\n    os._exit(0)\nprint('parent done')\n")
    result = run_program(program, FAST)
    assert result.outcome == Outcome.PASSED and result.stdout == "parent done\n"
    assert _boot_processes() == []


def test_memory_is_bounded_per_process_and_in_total() -> None:
    config = SandboxConfig(wall_seconds=10, memory_bytes=512 << 20, nproc=8, workers=2)  # 64 MiB each
    huge, grow = run_programs(["x = bytearray(8 * 2**30)",
                               "chunks = []\nwhile True:\n    chunks.append(bytearray(10_000_000))"], config)
    assert [huge.outcome, grow.outcome] == [Outcome.CRASHED, Outcome.CRASHED]
    assert "MemoryError" in huge.stderr and "MemoryError" in grow.stderr


def test_process_count_binds_inside_the_sandbox() -> None:
    program = ("import os, time\nn = 0\nfor _ in range(40):\n    try:\n        pid = os.fork()\n"
               "    except OSError:\n        break\n    if pid == 0:\n        time.sleep(30)\n        os._exit(0)\n"
               "    n += 1\nprint(n)\n")
    result = run_program(program, SandboxConfig(wall_seconds=10, nproc=10))
    # boot and bubblewrap's init count too: fewer than 10 children, whatever else the user runs
    assert result.outcome == Outcome.PASSED and 0 < int(result.stdout) < 10


def test_tmp_has_a_total_size_cap_and_is_the_only_writable_place() -> None:
    program = ("import os\nwritten = 0\ntry:\n    for i in range(100):\n"
               "        with open(f'/tmp/f{i}', 'wb') as fh:\n            fh.write(b'x' * (4 << 20))\n"
               "        written += 4 << 20\nexcept OSError as exc:\n    print(exc.errno, written >> 20)\n"
               "for path in ['/usr/x', '/x', '/dev/x', '/proc/x', '/sandbox/x', '/etc/x']:\n    try:\n"
               "        open(path, 'w')\n        print('WROTE', path)\n    except OSError:\n        pass\n")
    result = run_program(program, SandboxConfig(wall_seconds=10, tmp_bytes=32 << 20))
    errno_, mib = result.stdout.split()[:2]
    assert int(errno_) == 28 and int(mib) <= 32  # ENOSPC once 32 MiB are written
    assert "WROTE" not in result.stdout


def test_refuses_without_bubblewrap() -> None:
    with pytest.raises(SandboxError, match="apt install bubblewrap"):
        run_program("print(1)", SandboxConfig(bwrap="/nonexistent/bwrap"))


def test_refuses_where_namespaces_cannot_be_made() -> None:
    """A real refusal: the harness runs inside a sandbox that forbids user namespaces."""
    src = str(Path(olmo_eval.__file__).resolve().parents[1])
    code = ("import sys\nsys.path.insert(0, sys.argv[1])\nfrom olmo_eval.sandbox import SandboxError, run_program\n"
            "try:\n    run_program('print(1)')\n    print('RAN')\nexcept SandboxError as exc:\n    print('REFUSED', exc)\n")
    proc = subprocess.run(["bwrap", "--unshare-user", "--disable-userns", "--cap-drop", "ALL", "--ro-bind", "/", "/",
                           "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--", sys.executable, "-c", code, src],
                          capture_output=True, text=True, timeout=120)
    assert proc.stdout.startswith("REFUSED"), proc.stdout + proc.stderr
    assert "kernel.unprivileged_userns_clone" in proc.stdout and "--unsafe-no-sandbox" in proc.stdout


def test_unsafe_mode_is_loud_and_still_judged_by_the_nonce(capfd: pytest.CaptureFixture[str]) -> None:
    config = SandboxConfig(wall_seconds=5, unsafe_no_sandbox=True)
    results = run_programs(["assert 2 + 2 == 4", "import os\nos._exit(0)\nassert False"], config)
    assert [r.outcome for r in results] == [Outcome.PASSED, Outcome.FAILED]
    assert "UNSAFE" in capfd.readouterr().err


def test_generate_refuses_before_loading_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from olmo_eval.cli import main

    monkeypatch.setenv("PATH", str(tmp_path))  # no bwrap to be found
    code = main(["generate", "--model", str(tmp_path / "no-such-model"), "--tasks", "codex_humaneval",
                 "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "bubblewrap (bwrap) not found" in err and "Traceback" not in err
