"""The console script answers --help and lists its commands."""

from __future__ import annotations

import subprocess
import sys

import pytest

from olmo_eval.cli import COMMANDS, main


def test_help_exits_zero_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "usage: olmo-eval" in out and "example" in out
    for name in COMMANDS:
        assert name in out


def test_every_command_has_help() -> None:
    for name in COMMANDS:
        proc = subprocess.run([sys.executable, "-m", "olmo_eval.cli", name, "--help"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert f"olmo-eval {name}" in proc.stdout


def test_bad_input_ends_with_its_message_and_status_2(hf_dir, tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--model", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("olmo-eval run: error: ") and "nowhere: neither an olmo-core checkpoint" in err
    assert main(["generate", "--model", str(hf_dir), "--tasks", "no_such_task", "--out", str(tmp_path)]) == 2
    assert "olmo-eval generate: error: unknown task or suite 'no_such_task'" in capsys.readouterr().err
