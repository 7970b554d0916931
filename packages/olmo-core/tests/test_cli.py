"""The console script answers --help and lists its commands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from olmo_core.cli import COMMANDS, main


def test_help_exits_zero_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: olmo-core" in out and "example" in out
    for name in COMMANDS:
        assert name in out


def test_every_command_has_help() -> None:
    for name in COMMANDS:
        proc = subprocess.run([sys.executable, "-m", "olmo_core.cli", name, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert f"olmo-core {name}" in proc.stdout


def test_bad_input_is_one_message_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["train", "--preset", "tiny", "--print-config", "optim.no_such_knob=1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("olmo-core train: error:") and "no_such_knob" in err
