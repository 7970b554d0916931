"""``python -m open_instruct.onpolicy``: --help shows an example; bad input is one line and exit 1."""

from __future__ import annotations

import pytest

from open_instruct.onpolicy.__main__ import main


def test_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0 and "python -m open_instruct.onpolicy --checkpoint" in capsys.readouterr().out


def test_bad_input_is_one_line(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--checkpoint", str(tmp_path / "none"), "--tasks", str(tmp_path / "t.jsonl"),
                 "--cache", str(tmp_path / "c")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "neither an olmo-core checkpoint nor a run folder" in err
