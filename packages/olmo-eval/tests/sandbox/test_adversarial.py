"""The adversarial suite (sandbox_attacks.py), run by root and by an unprivileged user: every attempt is
contained (the host's secret never shows, the host file is unchanged, nothing reaches the host's
network, the host's processes survive, nothing is left running) and judged a failed sample;
ordinary programs still pass or fail on their merits. Under CI=true a mode that cannot run fails."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import socket
import subprocess
import uuid
from collections import Counter
from dataclasses import asdict
from pathlib import Path

import pytest
from sandbox_attacks import ATTACKS, CORRECT, STOPPED_BY, WRONG

import olmo_eval
from olmo_eval.sandbox import Outcome, SandboxConfig, run_programs
from olmo_eval.sandbox.bwrap import Interpreter

TEST_USER = "olmo-sbx-test"
SUITE = SandboxConfig(wall_seconds=4, cpu_seconds=3, memory_bytes=1 << 30, nproc=16, tmp_bytes=32 << 20,
                      workers=4)
SRC = Path(olmo_eval.__file__).resolve().parents[1]
HARNESS = Path(__file__).with_name("user_harness.py")
IN_CI = os.environ.get("CI") == "true"


def _unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this mode must run)")
    pytest.skip(reason)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != b"Z"


def _boot_processes() -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _alive(int(entry)):
            try:
                if b"/sandbox/boot.py" in Path(f"/proc/{entry}/cmdline").read_bytes():
                    pids.append(int(entry))
            except OSError:
                pass
    return pids


class Host:
    """What the attacks aim at, set up fresh for each mode."""

    def __init__(self, as_user: list[str]):
        tag = uuid.uuid4().hex
        self.secret = f"host-secret-{tag}"
        self.secret_env = f"OLMO_EVAL_SECRET_{tag[:8].upper()}"
        self.secret_path = Path("/tmp") / f"olmo-sbx-secret-{tag}"
        self.secret_path.write_text(self.secret)
        self.secret_path.chmod(0o644)  # readable by any uid: only the sandbox keeps it out
        # outside /tmp: the sandbox's own /tmp would take a write to a host /tmp path
        outside = Path("/var/tmp") if os.access("/var/tmp", os.W_OK) else Path(__file__).parent
        self.target = outside / f"olmo-sbx-target-{tag}"
        self.target.write_text("original")
        self.target.chmod(0o666)
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(4)
        self.canary = subprocess.Popen([*as_user, "sleep", "300"])

    def context(self) -> dict[str, object]:
        return {"secret": self.secret, "secret_env": self.secret_env, "secret_path": str(self.secret_path),
                "target": str(self.target), "work_file": str(Path(__file__).resolve()),
                "port": self.server.getsockname()[1], "canary_pid": self.canary.pid}

    def programs(self) -> list[str]:
        ctx = self.context()
        return [src.format(**ctx) for src in ATTACKS.values()] + [CORRECT, WRONG]

    def close(self) -> None:
        self.canary.kill()
        self.canary.wait()
        self.server.close()
        self.secret_path.unlink(missing_ok=True)
        self.target.unlink(missing_ok=True)


def _user_prefix() -> list[str]:
    """setpriv to the test's own unprivileged user, created once."""
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", TEST_USER],
                              capture_output=True, text=True)
        if made.returncode not in (0, 9):  # 9: made meanwhile by a concurrent run
            _unavailable(f"cannot create the test user: {made.stderr.strip()}")
    return ["setpriv", f"--reuid={TEST_USER}", f"--regid={TEST_USER}", "--init-groups", "--"]


def _user_python(prefix: list[str]) -> str:
    candidates = [Interpreter.current().executable, shutil.which("python3") or "", "/usr/bin/python3"]
    # the interpreter must find its own stdlib as that user (not fall back to another one)
    check = ("import os, sys; sys.path.insert(0, sys.argv[1]); import olmo_eval.sandbox; "
             "assert sys.version_info >= (3, 11) and os.access(os.path.realpath(sys.executable), os.R_OK); "
             "assert os.path.realpath(sys.executable).startswith(os.path.realpath(sys.base_prefix) + '/')")
    for exe in dict.fromkeys(c for c in candidates if c):
        probe = subprocess.run([*prefix, exe, "-I", "-S", "-c", check, str(SRC)], capture_output=True, cwd="/")
        if probe.returncode == 0:
            return exe
    _unavailable(f"no Python >= 3.11 that {TEST_USER} can run with {SRC} readable")
    raise AssertionError  # unreachable


def _run_mode(mode: str, host: Host, as_user: list[str]) -> list[dict]:
    programs = host.programs()
    config = asdict(SUITE)
    if mode == "root" or not as_user:
        os.environ[host.secret_env] = host.secret
        try:
            results = run_programs(programs, SandboxConfig(**config))
        finally:
            del os.environ[host.secret_env]
        return [{"outcome": r.outcome.value, "returncode": r.returncode, "stdout": r.stdout, "stderr": r.stderr}
                for r in results]
    exe = _user_python(as_user)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", host.secret_env: host.secret}
    proc = subprocess.run([*as_user, exe, "-I", "-S", str(HARNESS), str(SRC)], input=json.dumps(
        {"programs": programs, "config": config}), capture_output=True, text=True, env=env, cwd="/", timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    answer = json.loads(proc.stdout)
    assert "error" not in answer, answer.get("error")
    return answer["results"]


@pytest.mark.parametrize("mode", ["root", "unprivileged"])
def test_every_attack_is_contained_and_fails(mode: str) -> None:
    is_root = os.geteuid() == 0
    if mode == "root" and not is_root:
        _unavailable("the root mode needs root")
    as_user = _user_prefix() if mode == "unprivileged" and is_root else []
    host = Host(as_user)
    try:
        results = _run_mode(mode, host, as_user)
        names = [*ATTACKS, "correct", "wrong"]
        by_name = dict(zip(names, results, strict=True))
        outcomes = {name: r["outcome"] for name, r in by_name.items()}
        print(f"\n{mode}: {json.dumps(outcomes)}")
        # containment
        for name, r in by_name.items():
            text = r["stdout"] + r["stderr"]
            assert host.secret not in text, f"{name} leaked the secret"
            assert "BOOM" not in r["stdout"], f"{name}: a time bomb went off after the verdict"
        assert host.target.read_text() == "original"
        host.server.settimeout(0.1)
        with pytest.raises(socket.timeout):
            host.server.accept()
        assert _alive(host.canary.pid), "a host process of the evaluator's uid was killed"
        assert _boot_processes() == []
        # verdicts
        failed = [n for n in ATTACKS if outcomes[n] != Outcome.PASSED]
        assert failed == list(ATTACKS), {n: o for n, o in outcomes.items() if o == Outcome.PASSED}
        assert outcomes["correct"] == Outcome.PASSED and outcomes["wrong"] == Outcome.FAILED
        for name in ("fork_bomb", "sleep_past_the_verdict"):
            assert outcomes[name] == Outcome.TIMED_OUT
        assert set(STOPPED_BY) == set(ATTACKS)
        wrong_reason = {n: by_name[n]["stderr"][-300:] for n, fragment in STOPPED_BY.items()
                        if fragment not in by_name[n]["stderr"]}
        assert wrong_reason == {}
        for name in ("exit_0_before_tests", "forge_the_verdict", "time_bomb_daemon"):
            assert by_name[name]["returncode"] == 0, name  # the status lied; the nonce did not
        print(f"{mode}: {len(failed)}/{len(ATTACKS)} attempts contained and failed; "
              f"{dict(Counter(outcomes[n] for n in ATTACKS))}")
    finally:
        host.close()


def test_the_checks_see_an_escape_when_there_is_no_sandbox() -> None:
    """Without isolation the same harmless attacks succeed, so the assertions above can fail."""
    host = Host([])
    try:
        ctx = host.context()
        names = ["read_host_tmp_file", "read_work_tree", "write_outside_tmp"]
        results = run_programs([ATTACKS[n].format(**ctx) for n in names],
                               SandboxConfig(wall_seconds=10, unsafe_no_sandbox=True))
        assert [r.outcome for r in results] == [Outcome.PASSED] * len(names)
        assert host.secret in results[0].stdout
        assert host.target.read_text() == "pwned"
    finally:
        host.close()
