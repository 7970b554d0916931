"""The console script answers --help and lists its commands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from open_instruct.cli import COMMANDS, main


def test_help_exits_zero_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: open-instruct" in out and "example" in out
    for name in COMMANDS:
        assert name in out


def test_every_command_has_help() -> None:
    for name in COMMANDS:
        proc = subprocess.run([sys.executable, "-m", "open_instruct.cli", name, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert f"open-instruct {name}" in proc.stdout


def test_preset_names_in_help_are_the_registered_ones() -> None:
    from open_instruct.commands.sft import PRESET_NAMES
    from open_instruct.train.presets import RUN_PRESETS

    assert set(PRESET_NAMES) == set(RUN_PRESETS)


def test_bad_input_is_one_message_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sft", "--preset", "no_such_preset", "--print-config"]) == 2
    err = capsys.readouterr().err
    assert "open-instruct sft: error:" in err and "no_such_preset" in err and "Traceback" not in err
