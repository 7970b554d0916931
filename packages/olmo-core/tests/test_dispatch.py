"""The one error boundary of the console scripts (olmo-core's, olmoe's, open-instruct's): bad input is
one line and exit 2, a failed write (full disk, a checkpoint that could not be written) one line and
exit 1, anything else a traceback (a bug must not be dressed up as bad input)."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from olmo_core.dispatch import EXIT_BAD_INPUT, EXIT_WRITE_FAILED, run_cli


@pytest.fixture
def raising_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[str, str]]:
    (tmp_path / "fake_cmd.py").write_text(textwrap.dedent("""
        import errno
        from olmo_core.checkpoint.manager import CheckpointWriteError

        ERRORS = {
            "bad": lambda: ValueError("cfg.yaml: field 'lr' must be a number"),
            "full": lambda: OSError(errno.ENOSPC, "No space left on device", "/mnt/out/part-0.npy"),
            "ckpt": lambda: CheckpointWriteError("checkpoint runs/x/step6 not written: no space left"),
            "bug": lambda: KeyError("a bug"),
        }

        def add_arguments(p):
            p.add_argument("what")

        def run(args):
            raise ERRORS[args.what]()
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("fake_cmd", None)
    return {"go": ("fake_cmd", "raise something")}


@pytest.mark.parametrize(("what", "status", "needle"), [
    ("bad", EXIT_BAD_INPUT, "cfg.yaml: field 'lr'"),
    ("full", EXIT_WRITE_FAILED, "/mnt/out/part-0.npy"),
    ("ckpt", EXIT_WRITE_FAILED, "runs/x/step6 not written"),
])
def test_errors_of_input_and_of_writes_are_one_line(raising_command, capsys, what, status, needle) -> None:
    assert run_cli("prog", "d", raising_command, ["go", what], version=lambda: "0") == status
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("prog go: error: ") and needle in err
    assert "Traceback" not in err


def test_a_bug_keeps_its_traceback(raising_command) -> None:
    with pytest.raises(KeyError):
        run_cli("prog", "d", raising_command, ["go", "bug"], version=lambda: "0")
