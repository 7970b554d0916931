"""The ``code`` verifier: programs built from responses and tests, fail-closed verdicts, the missing extra's
error, and real runs in olmo-eval's sandbox (bubblewrap) through the ``open-instruct[code]`` extra."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from open_instruct.verifiers import verify
from open_instruct.verifiers.code import CodeRun, CodeRunner, MissingExtraError, build_program, extract_code

REPO = Path(__file__).resolve().parents[4]

ADD = "```python\ndef add(a, b):\n    return a + b\n```\nThis adds two numbers."
WRONG_ADD = "```python\ndef add(a, b):\n    return a - b\n```"
ADD_TESTS = "assert add(2, 3) == 5\nassert add(-1, 1) == 0"


class LocalRunner:
    """Runs a program with this interpreter, NO isolation: for the tests' own harmless programs, and to show
    that the escape programs below really pass when nothing contains them."""

    def run(self, program: str) -> CodeRun:
        proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60)
        return CodeRun(proc.returncode == 0, "passed" if proc.returncode == 0 else "failed", proc.stderr[-300:])


class RaisingRunner:
    def run(self, program: str) -> CodeRun:
        raise RuntimeError("sandbox exploded")


class BadRunner:
    def run(self, program: str):
        return True  # not a CodeRun: must not count as a pass


def test_extract_code_takes_the_first_fenced_block() -> None:
    assert extract_code(ADD) == "def add(a, b):\n    return a + b\n"
    assert extract_code("```py\nx = 1\n```\n```python\nx = 2\n```") == "x = 1\n"
    assert extract_code("Sure:\n```\nx = 3") == "x = 3"          # an unclosed fence runs to the end
    assert extract_code("x = 4\nprint(x)") == "x = 4\nprint(x)"  # no fence: the whole response
    program = build_program(ADD, ADD_TESTS)
    assert program.index("def add") < program.index("assert add(2, 3)")


def test_verdicts_come_from_the_runner() -> None:
    runner = LocalRunner()
    assert isinstance(runner, CodeRunner)
    assert verify("code", ADD, tests=ADD_TESTS, runner=runner).correct
    wrong = verify("code", WRONG_ADD, tests=ADD_TESTS, runner=runner)
    assert not wrong.correct and wrong.score == 0.0 and "AssertionError" in wrong.reason


def test_fails_closed() -> None:
    for runner in (RaisingRunner(), BadRunner()):
        verdict = verify("code", ADD, tests=ADD_TESTS, runner=runner)
        assert not verdict.correct and verdict.score == 0.0
    assert "sandbox exploded" in verify("code", ADD, tests=ADD_TESTS, runner=RaisingRunner()).reason


def test_bad_arguments_are_errors() -> None:
    with pytest.raises(ValueError, match="language 'rust'"):
        verify("code", ADD, tests=ADD_TESTS, language="rust", runner=LocalRunner())
    with pytest.raises(ValueError, match="tests must be"):
        verify("code", ADD, tests="  ", runner=LocalRunner())


def test_without_the_extra_the_default_runner_says_what_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "olmo_eval", None)  # import olmo_eval now fails, installed or not
    with pytest.raises(MissingExtraError, match=r"open-instruct\[code\]"):
        verify("code", ADD, tests=ADD_TESTS)


def test_open_instruct_imports_without_olmo_eval() -> None:
    # a fresh interpreter in which olmo-eval cannot be imported: every other verifier works, nothing imports it
    script = (
        "import sys\nsys.modules['olmo_eval'] = None\n"
        "from open_instruct.verifiers import verify\n"
        "assert verify('numeric', '#### 3', answer=3).correct\n"
        "assert verify('ifeval', 'ok', constraints=[{'type': 'no_comma'}]).correct\n"
        "assert sys.modules['olmo_eval'] is None\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


# --- real runs in olmo-eval's sandbox ----------------------------------------------------------------------

# Each escape program passes its tests only if its escape worked (see test_escapes_pass_without_a_sandbox).
ESCAPES = {
    "read_host_file": ("```python\ndef leak():\n    return open({secret!r}).read()\n```",
                       "assert leak().startswith('host-secret-')"),
    "write_host_file": ("```python\ndef pwn():\n    open({target!r}, 'w').write('pwned')\n    "
                        "return open({target!r}).read()\n```", "assert pwn() == 'pwned'"),
    "shell_out": ("```python\nimport subprocess\ndef run():\n    return subprocess.check_output("
                  "['sh', '-c', 'cat {secret}; echo pwned > {target}'])\n```",
                  "assert run().startswith(b'host-secret-')"),
    "network": ("```python\nimport socket\ndef call():\n    s = socket.create_connection(('127.0.0.1', {port}), "
                "timeout=2)\n    return s.recv(64)\n```", "assert call() == b'hello'"),
    "exit_before_tests": ("```python\nimport os\nos._exit(0)\n```", "assert False"),
}


@pytest.fixture()
def host():
    """Targets outside /tmp (the sandbox's own /tmp would take a /tmp path) and a loopback server."""
    outside = Path("/var/tmp") if os.access("/var/tmp", os.W_OK) else Path(__file__).parent
    tag = uuid.uuid4().hex
    secret, target = outside / f"oi-code-secret-{tag}", outside / f"oi-code-target-{tag}"
    content = f"host-secret-{uuid.uuid4().hex}"  # a tag of its own: the paths' tag shows in tracebacks
    secret.write_text(content)
    target.write_text("original")
    secret.chmod(0o644)
    target.chmod(0o666)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(60)
    try:
        yield {"secret": str(secret), "target": str(target), "port": server.getsockname()[1], "server": server,
               "content": content}
    finally:
        server.close()
        secret.unlink(missing_ok=True)
        target.unlink(missing_ok=True)


def _cases(host: dict) -> dict[str, tuple[str, str]]:
    ctx = {k: v for k, v in host.items() if k not in ("server", "content")}
    return {"passing": (ADD, ADD_TESTS), "failing": (WRONG_ADD, ADD_TESTS),
            **{name: (resp.format(**ctx), tests) for name, (resp, tests) in ESCAPES.items()}}


def _serve_once(server: socket.socket) -> None:
    try:
        conn, _ = server.accept()
        conn.sendall(b"hello")
        conn.close()
    except OSError:
        pass


def test_escapes_pass_without_a_sandbox(host) -> None:
    """The control: run unsandboxed, every escape program except the early exit (which cheats the exit status,
    not the sandbox) passes, so the sandboxed failures below are the sandbox's doing."""
    import threading

    cases = _cases(host)
    server = threading.Thread(target=_serve_once, args=(host["server"],), daemon=True)
    server.start()
    for name in ("network", "read_host_file", "write_host_file", "shell_out"):
        response, tests = cases[name]
        assert verify("code", response, tests=tests, runner=LocalRunner()).correct, name
    server.join()
    assert Path(host["target"]).read_text().strip() == "pwned"


def test_real_sandbox_passes_fails_and_contains(host, tmp_path: Path) -> None:
    """olmo-eval's sandbox through the ``code`` extra, installed in an isolated env (``uv run --isolated
    --extra code``): the passing program passes, the failing one fails, every escape fails and leaves the host
    as it was."""
    assert shutil.which("bwrap"), "bubblewrap is not installed (apt install bubblewrap)"
    assert shutil.which("uv"), "uv is not on PATH"
    cases = _cases(host)
    (tmp_path / "cases.json").write_text(json.dumps(cases))
    script = (
        "import json, sys\nfrom open_instruct.verifiers import verify\n"
        "cases = json.load(open(sys.argv[1]))\n"
        "out = {name: verify('code', r, tests=t).__dict__ for name, (r, t) in cases.items()}\n"
        "json.dump(out, open(sys.argv[2], 'w'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    proc = subprocess.run(["uv", "run", "--isolated", "--frozen", "--package", "open-instruct", "--extra", "code",
                           "python", "-c", script, str(tmp_path / "cases.json"), str(tmp_path / "verdicts.json")],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    verdicts = json.loads((tmp_path / "verdicts.json").read_text())

    assert verdicts["passing"] == {"correct": True, "score": 1.0, "reason": ""}
    assert not verdicts["failing"]["correct"] and "AssertionError" in verdicts["failing"]["reason"]
    for name in ESCAPES:
        assert not verdicts[name]["correct"], (name, verdicts[name])
        assert verdicts[name]["score"] == 0.0
    # and for the sandbox's reasons: host paths are not mounted, exec and sockets are refused, an early exit
    # never delivers the nonce that says the tests ran to the end
    expected = {"read_host_file": "FileNotFoundError", "write_host_file": "FileNotFoundError",
                "shell_out": "PermissionError", "network": "PermissionError"}
    for name, error in expected.items():
        assert error in verdicts[name]["reason"], (name, verdicts[name]["reason"])
    assert verdicts["exit_before_tests"]["reason"] == "failed"
    assert Path(host["target"]).read_text() == "original"
    assert host["content"] not in json.dumps(verdicts)
