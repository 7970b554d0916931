"""Bad input to ``olmo-stack`` ends in one line naming the command and the problem, exit status 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from olmo_stack.cli import main


def test_bad_input_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(tmp_path / "nosuch.yaml")]) == 2
    assert "olmo-stack run: error: config" in capsys.readouterr().err
    assert main(["lineage", str(tmp_path)]) == 2
    assert "olmo-stack lineage: error:" in capsys.readouterr().err
