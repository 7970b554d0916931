"""The ``code`` verifier: the response's program runs against given tests through a :class:`CodeRunner`.

The default runner is olmo-eval's sandbox (bubblewrap + seccomp + resource limits), imported only when a
program is run, through the optional extra ``open-instruct[code]``; open-instruct itself needs only olmo-core.
Fails closed: a runner that raises, times out or crashes gives a failed verdict, never a pass.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from open_instruct.verifiers.registry import Verdict, register_verifier

__all__ = ["CodeRun", "CodeRunner", "MissingExtraError", "SandboxRunner", "build_program", "extract_code"]

log = logging.getLogger(__name__)

_FENCE = re.compile(r"```[ \t]*(?:python3?|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)


class MissingExtraError(ImportError):
    """The default runner needs an optional extra that is not installed."""


@dataclass(frozen=True)
class CodeRun:
    """How a program ended: ``passed`` only when it ran its tests to the end without failing."""

    passed: bool
    outcome: str
    detail: str = ""


@runtime_checkable
class CodeRunner(Protocol):
    def run(self, program: str) -> CodeRun:
        """Run one Python program (the response's code followed by its tests)."""
        ...


@dataclass(frozen=True)
class SandboxRunner:
    """olmo-eval's sandbox (``olmo_eval.sandbox.run_program``) with these limits for each program."""

    wall_seconds: float = 10.0
    cpu_seconds: int = 10
    memory_bytes: int = 1 << 30

    def run(self, program: str) -> CodeRun:
        sandbox = _import_sandbox()
        config = sandbox.SandboxConfig(wall_seconds=self.wall_seconds, cpu_seconds=self.cpu_seconds,
                                       memory_bytes=self.memory_bytes)
        result = sandbox.run_program(program, config)
        detail = "" if result.outcome == sandbox.Outcome.PASSED else result.stderr.strip()[-500:]
        return CodeRun(result.outcome == sandbox.Outcome.PASSED, str(result.outcome.value), detail)


def _import_sandbox():
    try:
        from olmo_eval import sandbox
    except ImportError as exc:
        raise MissingExtraError(
            "the code verifier's default runner is olmo-eval's sandbox, which is not installed: "
            "install open-instruct[code] (pip install 'open-instruct[code]'; in this workspace "
            "uv sync --package open-instruct --extra code), or pass runner= a CodeRunner of your own"
        ) from exc
    return sandbox


def extract_code(response: str) -> str:
    """The program in a response: its first fenced code block (```python ... ```; an unclosed fence runs
    to the end), else the whole response."""
    match = _FENCE.search(response)
    return match.group(1) if match else response


def build_program(response: str, tests: str) -> str:
    """The response's code followed by the tests, so that the program passes only if the tests do."""
    return f"{extract_code(response).rstrip()}\n\n\n{tests.strip()}\n"


_DEFAULT_RUNNER: SandboxRunner | None = None


@register_verifier("code")
def code(response: str, *, tests: str, language: str = "python", runner: CodeRunner | None = None) -> Verdict:
    """Correct iff the response's code, followed by ``tests`` (e.g. ``assert`` lines), runs to the end."""
    global _DEFAULT_RUNNER
    if language != "python":
        raise ValueError(f"code verifier: language {language!r} is not supported (only 'python')")
    if not isinstance(tests, str) or not tests.strip():
        raise ValueError("code verifier: tests must be a non-empty string of Python (e.g. assert lines)")
    if runner is None:
        _import_sandbox()  # a missing extra is a setup error, raised, not a failed verdict
        _DEFAULT_RUNNER = _DEFAULT_RUNNER or SandboxRunner()
        runner = _DEFAULT_RUNNER
    try:
        result = runner.run(build_program(response, tests))
    except Exception as exc:  # fail closed: whatever went wrong, the response did not pass
        log.warning("code verifier: the runner failed (%s: %s); counted as a failed verdict",
                    type(exc).__name__, exc)
        return Verdict.failed(f"runner error: {type(exc).__name__}: {exc}"[:500])
    if not isinstance(result, CodeRun):
        return Verdict.failed(f"runner returned {type(result).__name__}, not a CodeRun")
    if result.passed is True:
        return Verdict.passed()
    return Verdict.failed(f"{result.outcome}: {result.detail}"[:500] if result.detail else result.outcome)
