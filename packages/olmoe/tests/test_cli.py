"""The console script answers --help and lists its commands."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from olmoe.cli import COMMANDS, main


def test_help_exits_zero_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: olmoe" in out and "example" in out
    for name in COMMANDS:
        assert name in out


def test_every_command_has_help() -> None:
    for name in COMMANDS:
        proc = subprocess.run([sys.executable, "-m", "olmoe.cli", name, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert f"olmoe {name}" in proc.stdout


def test_bad_input_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["upcycle", str(tmp_path / "no-checkpoint"), str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("olmoe upcycle: error: ") and "no-checkpoint" in err and "Traceback" not in err
